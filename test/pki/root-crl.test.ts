import assert from 'node:assert/strict';
import { after, describe, type TestContext, test } from 'node:test';
import { listAuditEvents, verifyAuditChain } from '../../src/audit/index.ts';
import { type CaSettings, type CertificateAuthority, crlDerToPem } from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import type { Storage } from '../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { type EngineTarget, engineTargets } from '../support/engines.ts';
import { csrFor, epoch, genpkey, openssl, opensslOk, TempDir } from './openssl.ts';

const targets = await engineTargets();
const dir = new TempDir();
after(() => dir.remove());

const HOUR = 3_600_000;
const ROOT_CRL_URL = 'https://localhost:8443/pki/root-ca.crl';
const AT = epoch(new Date(META.now.getTime() + HOUR));
const keyPath = genpkey(dir, 'partner', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
const csr = csrFor(keyPath);

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  partner: Partner;
}

async function setup(t: TestContext, target: EngineTarget, settings: Partial<CaSettings> = {}): Promise<Env> {
  const storage = await seededStorage(target);
  t.after(() => storage.close());
  const ca = await installCa(storage, { settings: { rootCrlUrl: ROOT_CRL_URL, ...settings } });
  return { storage, ca, partner: await createPartner(storage, 'Acme Bank') };
}

async function crlPemOf(env: Env, level: 'root' | 'issuing'): Promise<string> {
  const latest = await env.ca.latestCrl(env.storage.db, level);
  assert.ok(latest, `no ${level} CRL`);
  return crlDerToPem(latest.der);
}

/** `openssl verify -crl_check_all` as nginx's ssl_crl does it: every level of the chain needs its CRL. */
function verifyAll(env: Env, leafPem: string, crls: string[]) {
  const bundle = dir.write('bundle.pem', env.ca.chainPem);
  const leaf = dir.write('leaf.pem', leafPem);
  const crlArgs = crls.flatMap((pem, i) => ['-CRLfile', dir.write(`crl-${i}.pem`, pem)]);
  return openssl(['verify', '-attime', AT, '-crl_check_all', '-CAfile', bundle, ...crlArgs, leaf]);
}

const certText = (pem: string) => opensslOk(['x509', '-noout', '-text'], { input: pem }).stdout;
const issue = (env: Env) =>
  env.storage.transaction((tx) => env.ca.issue(tx, { clientId: env.partner.clientId, csrPem: csr }, META));

for (const target of targets) {
  describe(`root CRL and issuing CA re-issue: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/the root signs its own CRL, numbered apart from the issuing CA’s, listing no CA', async (t) => {
      const env = await setup(t, target);
      assert.equal(await env.ca.latestCrl(env.storage.db, 'root'), undefined);
      assert.equal(await env.ca.needsFreshCrl(env.storage.db, META.now, 'root'), true);
      const first = await env.storage.transaction((tx) => env.ca.publishCrl(tx, META.now, 'root'));
      assert.equal(first.crlNumber, 1);
      const issuingBefore = await env.ca.latestCrl(env.storage.db, 'issuing');
      assert.equal(issuingBefore?.crlNumber, 1);

      const pem = await crlPemOf(env, 'root');
      const root = dir.write('root.pem', env.ca.rootPem);
      const checked = opensslOk(['crl', '-noout', '-text', '-CAfile', root], { input: pem });
      assert.match(checked.stderr + checked.stdout, /verify OK/);
      assert.match(checked.stdout, /Issuer: O ?= ?Accredit, CN ?= ?Accredit Root CA/);
      assert.match(checked.stdout, /No Revoked Certificates/);
      const crl = new x509.X509Crl(pem);
      assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(env.ca.rootPem) }));
      // The issuing CA's key cannot have signed it.
      assert.equal(await crl.verify({ publicKey: new x509.X509Certificate(env.ca.issuingPem) }), false);

      const second = await env.storage.transaction((tx) => env.ca.publishCrl(tx, META.now, 'root'));
      assert.equal(second.crlNumber, 2);
      assert.equal((await env.ca.latestCrl(env.storage.db, 'issuing'))?.crlNumber, 1);
      assert.equal(await env.ca.needsFreshCrl(env.storage.db, META.now, 'root'), false);
      // Re-signed once half of its validity (168 h in the fixture) has passed, like the issuing CA's.
      const later = new Date(META.now.getTime() + 85 * HOUR);
      assert.equal(await env.ca.needsFreshCrl(env.storage.db, later, 'root'), true);
    });

    test('ok/a partner revocation re-signs the issuing CRL only', async (t) => {
      const env = await setup(t, target);
      await env.storage.transaction((tx) => env.ca.publishCrl(tx, META.now, 'root'));
      const cert = await issue(env);
      await env.storage.transaction((tx) => env.ca.revoke(tx, cert.serial, 'keyCompromise', META));
      assert.equal((await env.ca.latestCrl(env.storage.db, 'root'))?.crlNumber, 1);
      assert.equal((await env.ca.latestCrl(env.storage.db, 'issuing'))?.crlNumber, 2);
    });

    test('fail/without the root CRL, -crl_check_all refuses every partner (the issue’s symptom)', async (t) => {
      const env = await setup(t, target);
      const cert = await issue(env);
      await env.storage.transaction((tx) => env.ca.publishCrl(tx, META.now, 'issuing'));
      const result = verifyAll(env, cert.certificate_pem, [await crlPemOf(env, 'issuing')]);
      assert.notEqual(result.status, 0);
      assert.match(result.stdout + result.stderr, /unable to get certificate CRL/);
    });

    test('ok/re-issue keeps key, subject and validity, adds the CDP; old partners verify with both CRLs', async (t) => {
      const env = await setup(t, target);
      const cert = await issue(env);
      const oldPem = env.ca.issuingPem;
      assert.doesNotMatch(certText(oldPem), /CRL Distribution Points/);

      const reissued = await env.storage.transaction((tx) => env.ca.reissueIssuing(tx, META));
      await env.storage.transaction(async (tx) => {
        await env.ca.publishCrl(tx, META.now, 'root');
        await env.ca.publishCrl(tx, META.now, 'issuing');
      });
      await env.ca.reload(env.storage.db);

      const before = new x509.X509Certificate(oldPem);
      const after = new x509.X509Certificate(env.ca.issuingPem);
      assert.equal(env.ca.issuingPem, reissued.certificate_pem);
      assert.notEqual(after.serialNumber, before.serialNumber);
      assert.equal(reissued.previous_serial, before.serialNumber.toLowerCase());
      assert.deepEqual(
        Buffer.from(after.subjectName.toArrayBuffer()),
        Buffer.from(before.subjectName.toArrayBuffer()),
      );
      assert.deepEqual(Buffer.from(after.publicKey.rawData), Buffer.from(before.publicKey.rawData));
      assert.equal(after.notBefore.getTime(), before.notBefore.getTime());
      assert.equal(after.notAfter.getTime(), before.notAfter.getTime());
      assert.equal(
        after.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
        before.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      );
      const text = certText(env.ca.issuingPem);
      assert.match(text, new RegExp(`CRL Distribution Points:[\\s\\S]*URI:${ROOT_CRL_URL}`));
      assert.match(text, /CA:TRUE, pathlen:0/);
      assert.match(text, /Authority Key Identifier/);
      assert.ok(env.ca.chainPem.startsWith(env.ca.issuingPem.trim()));

      // The certificate issued before the re-issue, checked at every level: OK, then revoked.
      const crls = async () => [await crlPemOf(env, 'root'), await crlPemOf(env, 'issuing')];
      const ok = verifyAll(env, cert.certificate_pem, await crls());
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /: OK/);
      // Issuing after the re-issue works as before, under the same CA row.
      const fresh = await issue(env);
      assert.equal(verifyAll(env, fresh.certificate_pem, await crls()).status, 0);

      await env.storage.transaction((tx) => env.ca.revoke(tx, cert.serial, 'keyCompromise', META));
      const revoked = verifyAll(env, cert.certificate_pem, await crls());
      assert.notEqual(revoked.status, 0);
      assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);

      const events = await listAuditEvents(env.storage.db, { after: 0, limit: 1000 });
      const event = events.find((e) => e.action === 'ca.reissue_issuing');
      assert.ok(event);
      assert.equal(event.actor, META.actor);
      assert.deepEqual(event.details, {
        subject: reissued.subject,
        previous_serial: reissued.previous_serial,
        serial: reissued.serial,
        crl_distribution_point: ROOT_CRL_URL,
      });
      assert.equal((await verifyAuditChain(env.storage.db)).ok, true);
    });

    test('fail/re-issue without a root CRL URL changes nothing', async (t) => {
      const env = await setup(t, target, { rootCrlUrl: undefined });
      const before = env.ca.issuingPem;
      await assert.rejects(
        env.storage.transaction((tx) => env.ca.reissueIssuing(tx, META)),
        (err: { code?: string }) => err.code === 'not_configured',
      );
      await env.ca.reload(env.storage.db);
      assert.equal(env.ca.issuingPem, before);
    });
  });
}
