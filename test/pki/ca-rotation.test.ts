import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, describe, type TestContext, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  type CaRef,
  type CaSettings,
  type CertificateAuthority,
  crlDerToPem,
  exportRootKey,
  importRootKey,
  listAuthorities,
  publishRootCrl,
  readRootKeyExport,
  retireExpendedIssuing,
  retireIssuing,
  revokeIssuing,
  rotateIssuing,
  takeRootOffline,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import { changesOfKind } from '../../src/storage/changes-of-kind.ts';
import { CHANGE_KINDS, type Storage } from '../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { type EngineTarget, engineTargets } from '../support/engines.ts';
import { csrFor, epoch, genpkey, openssl, opensslOk, TempDir } from './openssl.ts';

const targets = await engineTargets();
const dir = new TempDir();
after(() => dir.remove());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = 'https://platform.example';
const SETTINGS: Partial<CaSettings> = {
  rootCrlUrl: `${BASE}/pki/root-ca.crl`,
  rootCrlValidityHours: 90 * 24,
  issuingCrlUrlOf: (id) => `${BASE}/pki/issuing/${id}.crl`,
};
const LATER = new Date(META.now.getTime() + HOUR);
const PASSPHRASE = 'correct horse battery staple';
const keyPath = genpkey(dir, 'partner', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
const csr = csrFor(keyPath);

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  partner: Partner;
}

async function setup(t: TestContext, target: EngineTarget): Promise<Env> {
  const storage = await seededStorage(target);
  t.after(() => storage.close());
  const ca = await installCa(storage, { settings: SETTINGS });
  await storage.transaction(async (tx) => {
    await ca.publishCrl(tx, META.now, 'root');
    await ca.publishCrl(tx, META.now);
  });
  return { storage, ca, partner: await createPartner(storage, 'Acme Bank') };
}

const meta = (now = META.now) => ({ actor: 'operator:test', now });
const issue = (env: Env, now = META.now) =>
  env.storage.transaction((tx) =>
    env.ca.issue(tx, { clientId: env.partner.clientId, csrPem: csr }, meta(now)),
  );

async function rotate(env: Env, now = META.now) {
  const rotated = await env.storage.transaction((tx) => rotateIssuing(tx, env.ca, meta(now)));
  await env.ca.reload(env.storage.db);
  return rotated;
}

async function crlFile(env: Env, which: CaRef, name: string): Promise<string> {
  const latest = await env.ca.latestCrl(env.storage.db, which);
  assert.ok(latest, `no CRL for ${JSON.stringify(which)}`);
  return dir.write(`${name}.pem`, crlDerToPem(latest.der));
}

/** `openssl verify -crl_check_all` as nginx's ssl_crl: every CA of the chain needs its CRL. */
function verifyAll(bundlePem: string, leafPem: string, crlFiles: string[], at = LATER) {
  const bundle = dir.write('bundle.pem', bundlePem);
  const leaf = dir.write('leaf.pem', leafPem);
  return openssl([
    'verify',
    '-attime',
    epoch(at),
    '-crl_check_all',
    '-CAfile',
    bundle,
    ...crlFiles.flatMap((f) => ['-CRLfile', f]),
    leaf,
  ]);
}

const certsOf = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
const cdpOf = (pem: string) =>
  new x509.X509Certificate(pem).getExtension(x509.CRLDistributionPointsExtension)?.distributionPoints[0]
    ?.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier;

async function rawRow(env: Env, id: string) {
  return env.storage.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

async function rejects(promise: Promise<unknown>, code: string, status?: number) {
  await assert.rejects(promise, (err: { code?: string; status?: number }) => {
    assert.equal(err.code, code);
    if (status !== undefined) assert.equal(err.status, status);
    return true;
  });
}

for (const target of targets) {
  describe(`issuing CA rotation and offline root: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/rotation: new CA issues with its own CDP, the old one retires trusted; bundle and CRLs carry both', async (t) => {
      const env = await setup(t, target);
      const oldId = env.ca.caId;
      const oldCert = await issue(env);
      assert.equal(cdpOf(oldCert.certificate_pem), 'https://localhost:8443/pki/issuing-ca.crl');

      const started = performance.now();
      const rotated = await rotate(env);
      console.log(
        `# ${target.name}: rotation (new ES256 CA, its first CRL, feed entry, audit) then reload: ${(performance.now() - started).toFixed(1)} ms`,
      );
      assert.equal(rotated.status, 'active');
      assert.equal(rotated.generation, 2);
      assert.equal(rotated.crl_url, `${BASE}/pki/issuing/${rotated.id}.crl`);
      assert.match(rotated.subject, /CN=Accredit Issuing CA 2/);
      assert.equal(env.ca.caId, rotated.id);
      assert.equal(certsOf(env.ca.chainPem), 3, 'new issuing, retiring issuing, root');
      assert.ok(env.ca.chainPem.startsWith(env.ca.issuingPem.trim()), 'the active CA comes first');
      // The new CA certificate points at the root's CRL (RFC 5280 §4.2.1.13) and is signed by the root.
      assert.equal(cdpOf(env.ca.issuingPem), `${BASE}/pki/root-ca.crl`);

      const all = await listAuthorities(env.storage.db, { now: META.now });
      const old = all.find((a) => a.id === oldId);
      assert.equal(old?.status, 'retiring');
      assert.equal(old?.key_online, true);
      assert.equal(old?.unexpired_active_certificates, 1);
      assert.deepEqual(
        all.map((a) => [a.kind, a.status]),
        [
          ['root', 'active'],
          ['issuing', 'active'],
          ['issuing', 'retiring'],
        ],
      );

      const newCert = await issue(env);
      assert.equal(cdpOf(newCert.certificate_pem), rotated.crl_url);
      assert.match(newCert.issuer, /Accredit Issuing CA 2/);

      // Both partners verify at every level with the bundle and the three CRLs.
      const crls = [
        await crlFile(env, 'root', 'root'),
        await crlFile(env, { id: oldId }, 'old'),
        await crlFile(env, { id: rotated.id }, 'new'),
      ];
      for (const cert of [oldCert, newCert]) {
        const verdict = verifyAll(env.ca.chainPem, cert.certificate_pem, crls);
        assert.equal(verdict.status, 0, verdict.stdout + verdict.stderr);
      }
      // Each CRL verifies under its own CA (openssl crl -CAfile … -verify).
      for (const file of crls) {
        const checked = opensslOk([
          'crl',
          '-in',
          file,
          '-noout',
          '-CAfile',
          dir.write('b.pem', env.ca.chainPem),
        ]);
        assert.match(checked.stderr + checked.stdout, /verify OK/);
      }
      // The housekeeping keeps re-signing the retiring CA's CRL as well.
      assert.deepEqual(
        env.ca.crlPublishers().map((r) => (typeof r === 'string' ? r : r.id)),
        ['root', rotated.id, oldId],
      );

      const changes = await changesOfKind(env.storage.db, CHANGE_KINDS.caChanged, Number.MAX_SAFE_INTEGER);
      assert.equal(changes.length, 1);
      assert.equal(changes[0]?.entityId, rotated.id);
      assert.equal(changes[0]?.payload.bundle_pem, env.ca.chainPem);
      const audit = await listAuditEvents(env.storage.db, { after: 0, limit: 1000 });
      assert.equal(audit.filter((e) => e.action === 'ca.rotate_issuing').length, 1);
    });

    test('ok/revoking a certificate of the retiring CA re-signs that CA’s CRL only', async (t) => {
      const env = await setup(t, target);
      const oldId = env.ca.caId;
      const oldCert = await issue(env);
      const rotated = await rotate(env);
      const newBefore = await env.ca.latestCrl(env.storage.db, { id: rotated.id });
      const oldBefore = await env.ca.latestCrl(env.storage.db, { id: oldId });

      await env.storage.transaction((tx) => env.ca.revoke(tx, oldCert.serial, 'keyCompromise', meta()));
      const oldAfter = await env.ca.latestCrl(env.storage.db, { id: oldId });
      assert.equal(oldAfter?.crlNumber, (oldBefore?.crlNumber ?? 0) + 1);
      assert.equal(
        (await env.ca.latestCrl(env.storage.db, { id: rotated.id }))?.crlNumber,
        newBefore?.crlNumber,
      );
      const listed = new x509.X509Crl(crlDerToPem(oldAfter!.der));
      assert.ok(listed.findRevoked(oldCert.serial), 'the old CA’s CRL lists the certificate');

      const crls = [
        await crlFile(env, 'root', 'root'),
        await crlFile(env, { id: oldId }, 'old'),
        await crlFile(env, { id: rotated.id }, 'new'),
      ];
      const verdict = verifyAll(env.ca.chainPem, oldCert.certificate_pem, crls);
      assert.notEqual(verdict.status, 0);
      assert.match(verdict.stdout + verdict.stderr, /certificate revoked/);
    });

    test('fail/retire: never the active CA, not while it has unexpired active certificates unless forced', async (t) => {
      const env = await setup(t, target);
      const oldId = env.ca.caId;
      await issue(env);
      const retire = (id: string, force: boolean) =>
        env.storage.transaction((tx) => retireIssuing(tx, env.ca, id, { force }, meta()));
      await rejects(retire(oldId, false), 'ca_active', 409);
      const rotated = await rotate(env);
      await rejects(retire(rotated.id, true), 'ca_active', 409);
      await rejects(retire(oldId, false), 'ca_in_use', 409);
      assert.equal((await rawRow(env, oldId)).status, 'retiring', 'the refusal changed nothing');

      const retired = await retire(oldId, true);
      assert.equal(retired.status, 'retired');
      assert.equal(retired.key_online, false);
      assert.equal((await rawRow(env, oldId)).key_pem, null, 'the retired CA’s key is destroyed');
      await env.ca.reload(env.storage.db);
      assert.equal(certsOf(env.ca.chainPem), 2, 'out of the bundle');
      assert.ok(!env.ca.crlPublishers().some((r) => typeof r !== 'string' && r.id === oldId));
      await rejects(retire(oldId, true), 'conflict', 409);
      await rejects(retire('no-such-ca', true), 'not_found', 404);
    });

    test('ok/a retiring CA retires by itself once its last certificate has expired', async (t) => {
      const env = await setup(t, target);
      const oldId = env.ca.caId;
      const cert = await issue(env);
      await rotate(env);
      assert.deepEqual(await env.storage.transaction((tx) => retireExpendedIssuing(tx, LATER)), []);
      const after = new Date(new Date(cert.not_after).getTime() + 1000);
      assert.deepEqual(await env.storage.transaction((tx) => retireExpendedIssuing(tx, after)), [oldId]);
      assert.equal((await rawRow(env, oldId)).status, 'retired');
    });

    test('ok/revoke-issuing: its certificates are revoked, the root CRL lists it, the chain fails', async (t) => {
      const env = await setup(t, target);
      const oldId = env.ca.caId;
      const oldCert = await issue(env);
      const oldCaPem = env.ca.issuingPem;
      const oldSerial = (await rawRow(env, oldId)).serial;
      const revoke = (id: string) =>
        env.storage.transaction((tx) => revokeIssuing(tx, env.ca, id, 'keyCompromise', meta()));
      await rejects(revoke(oldId), 'ca_active', 409);
      const rotated = await rotate(env);
      const newCert = await issue(env);
      const oldCrlBefore = await crlFile(env, { id: oldId }, 'old-before');

      const revoked = await revoke(oldId);
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.certificates_revoked, 1);
      assert.equal((await rawRow(env, oldId)).key_pem, null);
      const row = await env.storage.db
        .selectFrom('certificates')
        .select(['status', 'revocation_reason'])
        .where('serial', '=', oldCert.serial)
        .executeTakeFirstOrThrow();
      assert.deepEqual({ ...row }, { status: 'revoked', revocation_reason: 'cACompromise' });
      await rejects(revoke(oldId), 'already_revoked', 409);

      const rootCrl = await crlFile(env, 'root', 'root-after');
      const text = opensslOk(['crl', '-in', rootCrl, '-noout', '-text']).stdout;
      assert.match(text.replace(/\s/g, '').toLowerCase(), new RegExp(`serialnumber:${oldSerial}`));
      assert.match(text, /Key Compromise/);

      await env.ca.reload(env.storage.db);
      assert.equal(certsOf(env.ca.chainPem), 2);
      // Even a relying party still holding the old CA fails on the root CRL (-crl_check_all).
      const withOld = `${env.ca.chainPem}${oldCaPem}`;
      const verdict = verifyAll(withOld, oldCert.certificate_pem, [
        rootCrl,
        oldCrlBefore,
        await crlFile(env, { id: rotated.id }, 'new'),
      ]);
      assert.notEqual(verdict.status, 0);
      assert.match(verdict.stdout + verdict.stderr, /certificate revoked/);
      // The new CA's partners are untouched.
      const ok = verifyAll(env.ca.chainPem, newCert.certificate_pem, [
        rootCrl,
        await crlFile(env, { id: rotated.id }, 'n2'),
      ]);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    });

    test('fail/offline root: export checks, operations needing the root refused; ceremony works, key never stored', async (t) => {
      const env = await setup(t, target);
      const rootId = env.ca.root.id;
      assert.throws(() => exportRootKey(env.ca, 'short'), { code: 'weak_passphrase' });
      const exported = exportRootKey(env.ca, PASSPHRASE);
      assert.match(exported, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      assert.throws(() => readRootKeyExport(exported, 'wrong passphrase!!'), { code: 'root_key_unreadable' });
      const plain = env.ca.root.privateKey!.export({ type: 'pkcs8', format: 'pem' }) as string;
      assert.throws(() => readRootKeyExport(plain, PASSPHRASE), { code: 'root_key_unreadable' });

      const offline = (pem: string, passphrase: string) =>
        env.storage.transaction((tx) => takeRootOffline(tx, env.ca, { pem, passphrase }, meta()));
      await rejects(offline(exported, 'not the passphrase'), 'root_key_unreadable', 400);
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const otherPem = other.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: PASSPHRASE,
      }) as string;
      await rejects(offline(otherPem, PASSPHRASE), 'root_key_mismatch', 400);
      assert.notEqual((await rawRow(env, rootId)).key_pem, null, 'refusals leave the key in place');

      const view = await offline(exported, PASSPHRASE);
      assert.equal(view.key_online, false);
      assert.equal((await rawRow(env, rootId)).key_pem, null);
      await env.ca.reload(env.storage.db);
      assert.equal(env.ca.rootKeyOnline, false);
      await rejects(offline(exported, PASSPHRASE), 'root_key_offline', 409);
      assert.throws(() => exportRootKey(env.ca, PASSPHRASE), { code: 'root_key_offline' });

      // Everything that needs the root names the ceremony.
      await rejects(
        env.storage.transaction((tx) => rotateIssuing(tx, env.ca, meta())),
        'root_key_offline',
        409,
      );
      await assert.rejects(
        env.storage.transaction((tx) => env.ca.publishCrl(tx, META.now, 'root')),
        /accredit ca ceremony/,
      );
      await rejects(
        env.storage.transaction((tx) => publishRootCrl(tx, env.ca, meta())),
        'root_key_offline',
      );
      assert.equal(
        await env.ca.needsFreshCrl(env.storage.db, new Date(META.now.getTime() + 89 * DAY), 'root'),
        false,
      );
      assert.ok(!env.ca.crlPublishers().includes('root'));
      // Issuing keeps working with the root offline.
      await issue(env);

      // Ceremony: the wrong key is refused, the right one rotates and signs a long root CRL.
      await rejects(
        env.storage.transaction((tx) => rotateIssuing(tx, env.ca, meta(), { rootKey: other })),
        'root_key_mismatch',
        400,
      );
      const rootKey = readRootKeyExport(exported, PASSPHRASE);
      const before = await env.ca.latestCrl(env.storage.db, 'root');
      const ceremony = await env.storage.transaction(async (tx) => ({
        rotated: await rotateIssuing(tx, env.ca, meta(), { rootKey }),
        crl: await publishRootCrl(tx, env.ca, meta(), { rootKey, validityHours: 180 * 24 }),
      }));
      assert.equal(ceremony.rotated.status, 'active');
      assert.equal(ceremony.crl.crlNumber, (before?.crlNumber ?? 0) + 1);
      assert.equal(ceremony.crl.nextUpdate.getTime() - META.now.getTime(), 180 * DAY);
      assert.equal((await rawRow(env, rootId)).key_pem, null, 'the ceremony stored no key');
      await env.ca.reload(env.storage.db);
      assert.equal(env.ca.rootKeyOnline, false);
      const crl = await crlFile(env, 'root', 'ceremony-root');
      const checked = opensslOk(['crl', '-in', crl, '-noout', '-CAfile', dir.write('r.pem', env.ca.rootPem)]);
      assert.match(checked.stderr + checked.stdout, /verify OK/);

      // Import: a different key is refused; the export brings the root back online, once.
      const importKey = (pem: string) =>
        env.storage.transaction((tx) => importRootKey(tx, env.ca, { pem, passphrase: PASSPHRASE }, meta()));
      await rejects(importKey(otherPem), 'root_key_mismatch', 400);
      const back = await importKey(exported);
      assert.equal(back.key_online, true);
      await env.ca.reload(env.storage.db);
      assert.equal(env.ca.rootKeyOnline, true);
      await rejects(importKey(exported), 'root_key_online', 409);
      const actions = (await listAuditEvents(env.storage.db, { after: 0, limit: 1000 })).map((e) => e.action);
      for (const action of [
        'ca.root_offline',
        'ca.root_online',
        'ca.publish_root_crl',
        'ca.rotate_issuing',
      ]) {
        assert.ok(actions.includes(action), action);
      }
    });
  });
}
