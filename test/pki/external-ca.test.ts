import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createOrganisation } from '../../src/directory/index.ts';
import {
  EXTERNAL_CERTIFICATE_REFUSALS,
  externalCaStore,
  refreshExternalCa,
  registerExternalCa,
  removeExternalCa,
  spkiSha256,
  verifyExternalCertificate,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import { changesOfKind, type Storage } from '../../src/storage/index.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CrlServer, ExternalCa } from '../support/external-ca.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`bring your own CA: registration and CRLs (${target.name})`, { skip: target.skip }, () => {
    let storage: Storage;
    let crls: CrlServer;
    let bank: ExternalCa;
    let orgA: string;
    let orgB: string;
    const fetcher = testPartnerFetcher({ allowLoopback: true, allowPlainHttp: true });
    const meta = () => ({ actor: 'operator:test', now: new Date() });

    before(async () => {
      storage = await seededStorage(target);
      crls = await CrlServer.start();
      bank = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE', { crlUrl: crls.url });
      orgA = await storage.transaction((tx) => createOrganisation(tx, { name: 'Bank AG' }, meta()));
      orgB = await storage.transaction((tx) => createOrganisation(tx, { name: 'Other Bank' }, meta()));
    });

    after(async () => {
      await crls?.close();
      await fetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    test('ok/registered: pinned by SPKI SHA-256, CRL URL from its CDP, stale until the first CRL', async () => {
      const view = await storage.transaction((tx) =>
        registerExternalCa(tx, { orgId: orgA, certificatePem: bank.certPem }, meta()),
      );
      assert.equal(view.spki_sha256, spkiSha256(bank.cert.publicKey.rawData));
      assert.deepEqual(view.crl_urls, [crls.url]);
      assert.equal(view.subject, 'CN=Bank Issuing CA,O=Bank AG,C=DE');
      assert.equal(view.crl.stale_after, null);
      const published = await changesOfKind(storage.db, 'external_ca.changed', Number.MAX_SAFE_INTEGER);
      assert.ok(published.some((c) => c.entityId === view.id));
    });

    test('fail/one CA key, one organisation: the same CA again is 409, for any organisation', async () => {
      for (const orgId of [orgA, orgB]) {
        await assert.rejects(
          storage.transaction((tx) =>
            registerExternalCa(tx, { orgId, certificatePem: bank.certPem }, meta()),
          ),
          (err: { code?: string; status?: number }) =>
            err.code === 'ca_already_registered' && err.status === 409,
        );
      }
    });

    const badCas: Array<{ name: string; make: () => Promise<string>; code: string }> = [
      {
        name: 'fail/not a CA (basicConstraints cA false, RFC 5280 §4.2.1.9)',
        make: async () =>
          (await ExternalCa.create('CN=Leafy', { ca: false, crlUrl: 'http://x.test/a.crl' })).certPem,
        code: 'invalid_ca_certificate',
      },
      {
        name: 'fail/no keyCertSign (RFC 5280 §4.2.1.3)',
        make: async () =>
          (
            await ExternalCa.create('CN=No Sign', {
              keyUsage: x509.KeyUsageFlags.cRLSign,
              crlUrl: 'http://x.test/a.crl',
            })
          ).certPem,
        code: 'invalid_ca_certificate',
      },
      {
        name: 'fail/no CRL distribution point and no crl_urls',
        make: async () => (await ExternalCa.create('CN=No CDP')).certPem,
        code: 'invalid_input',
      },
      { name: 'fail/not PEM', make: async () => 'hello', code: 'invalid_ca_certificate' },
    ];
    for (const c of badCas) {
      test(c.name, async () => {
        const pem = await c.make();
        await assert.rejects(
          storage.transaction((tx) => registerExternalCa(tx, { orgId: orgB, certificatePem: pem }, meta())),
          (err: { code?: string; status?: number }) => err.code === c.code && err.status === 400,
        );
      });
    }

    test('fail/crl_urls must be http(s)', async () => {
      const other = await ExternalCa.create('CN=Ftp CA');
      await assert.rejects(
        storage.transaction((tx) =>
          registerExternalCa(
            tx,
            { orgId: orgB, certificatePem: other.certPem, crlUrls: ['ftp://x/a.crl'] },
            meta(),
          ),
        ),
        (err: { code?: string }) => err.code === 'invalid_input',
      );
    });

    test('ok/CRL fetched over http, verified, revoked serials stored and published', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      crls.serve(await bank.crl(['0A1B', '00ff']));
      const view = await refreshExternalCa(storage, fetcher, ca.id, new Date());
      assert.equal(view?.crl.last_error, null);
      assert.equal(view?.crl.revoked_count, 2);
      assert.ok(view?.crl.stale_after);
      const all = await externalCaStore(storage.db).all();
      assert.deepEqual(all.find((c) => c.id === ca.id)?.revoked_serials, ['A1B', 'FF']);
      const last = (await changesOfKind(storage.db, 'external_ca.changed', Number.MAX_SAFE_INTEGER)).at(-1);
      assert.deepEqual(last?.payload.revoked_serials, ['A1B', 'FF']);
    });

    test('fail/a CRL signed by another key with the same issuer name is refused, state kept', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      const impostor = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE');
      crls.serve(await impostor.crl([]));
      const view = await refreshExternalCa(storage, fetcher, ca.id, new Date());
      assert.match(String(view?.crl.last_error), /signature/);
      assert.equal(view?.crl.revoked_count, 2);
    });

    test('fail/an older CRL (replay) does not un-revoke', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      crls.serve(await bank.crl([], { thisUpdate: new Date(Date.now() - 3_600_000), number: 1 }));
      const view = await refreshExternalCa(storage, fetcher, ca.id, new Date());
      assert.match(String(view?.crl.last_error), /older|went back/);
      assert.equal(view?.crl.revoked_count, 2);
    });

    test('fail/the CRL URL on loopback is refused by the address policy unless allowed', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      const strict = testPartnerFetcher({ allowPlainHttp: true });
      try {
        const view = await refreshExternalCa(storage, strict, ca.id, new Date());
        assert.match(String(view?.crl.last_error), /loopback|not allowed|refused/i);
      } finally {
        await strict.close();
      }
    });

    test('fail/not a CRL at all', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      crls.serve(Buffer.from('not a crl'));
      const view = await refreshExternalCa(storage, fetcher, ca.id, new Date());
      assert.match(String(view?.crl.last_error), /not a DER or PEM/);
    });

    test('verifyExternalCertificate: ok, revoked, stale, expired, purpose, another CA with the same names', async () => {
      const cas = await externalCaStore(storage.db).all();
      const good = await bank.issue({ subject: 'CN=client,O=Bank AG,C=DE' });
      const now = new Date();
      const ok = verifyExternalCertificate(new X509Certificate(good.certPem), cas, now);
      assert.equal(ok?.refusal, undefined);
      assert.equal(ok?.ca.org_id, orgA);

      crls.serve(await bank.crl([good.serial]));
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      await refreshExternalCa(storage, fetcher, ca!.id, new Date());
      const revoked = verifyExternalCertificate(
        new X509Certificate(good.certPem),
        await externalCaStore(storage.db).all(),
        now,
      );
      assert.equal(revoked?.refusal?.code, EXTERNAL_CERTIFICATE_REFUSALS.revoked);

      const fresh = await bank.issue({ subject: 'CN=client2,O=Bank AG,C=DE' });
      const late = new Date(Date.parse(String(ca!.crl.stale_after ?? now.toISOString())) + 48 * 3_600_000);
      const stale = verifyExternalCertificate(new X509Certificate(fresh.certPem), cas, late);
      assert.equal(stale?.refusal?.code, EXTERNAL_CERTIFICATE_REFUSALS.revocationStale);

      const expired = await bank.issue({
        subject: 'CN=old,O=Bank AG,C=DE',
        notBefore: new Date(Date.now() - 10 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      assert.equal(
        verifyExternalCertificate(new X509Certificate(expired.certPem), cas, now)?.refusal?.code,
        EXTERNAL_CERTIFICATE_REFUSALS.expired,
      );
      const serverOnly = await bank.issue({ subject: 'CN=srv,O=Bank AG,C=DE', eku: ['1.3.6.1.5.5.7.3.1'] });
      assert.equal(
        verifyExternalCertificate(new X509Certificate(serverOnly.certPem), cas, now)?.refusal?.code,
        EXTERNAL_CERTIFICATE_REFUSALS.purpose,
      );
      const impostor = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE');
      const lookalike = await impostor.issue({ subject: 'CN=client,O=Bank AG,C=DE' });
      assert.equal(verifyExternalCertificate(new X509Certificate(lookalike.certPem), cas, now), undefined);
    });

    test('ok/removed: gone from the store, removal published; another organisation may then register it', async () => {
      const [ca] = await externalCaStore(storage.db).ofOrganisation(orgA);
      assert.ok(ca);
      await assert.rejects(
        storage.transaction((tx) => removeExternalCa(tx, orgB, ca.id, meta())),
        (err: { status?: number }) => err.status === 404,
      );
      await storage.transaction((tx) => removeExternalCa(tx, orgA, ca.id, meta()));
      assert.deepEqual(await externalCaStore(storage.db).ofOrganisation(orgA), []);
      const last = (await changesOfKind(storage.db, 'external_ca.changed', Number.MAX_SAFE_INTEGER)).at(-1);
      assert.equal(last?.payload.status, 'removed');
      const again = await storage.transaction((tx) =>
        registerExternalCa(tx, { orgId: orgB, certificatePem: bank.certPem }, meta()),
      );
      assert.equal(again.org_id, orgB);
    });
  });
}
