import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, describe, type TestContext, test } from 'node:test';
import { verifyAuditChain } from '../../../src/audit/index.ts';
import { setOrganisationStatus } from '../../../src/directory/index.ts';
import {
  type CertificateAuthority,
  type CertificateView,
  certificateStore,
  createCsr,
  getCertificate,
  rotationPolicyStore,
} from '../../../src/pki/index.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../../support/ca-fixture.ts';
import { META, seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';

const targets = await engineTargets();
after(async () => {
  for (const t of targets) await t.cleanup();
});

const DAY = 86_400_000;
const at = (ms: number) => ({ actor: 'client:test', now: new Date(META.now.getTime() + ms) });
// 90-day certificates: the window (last third) opens on day 60.
const IN_WINDOW = 70 * DAY;
const DRAIN = 60_000;

type Keys = { privateKey: KeyObject; publicKey: KeyObject };
const p256 = (): Keys => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const csrOf = (keys: Keys) => createCsr(keys);

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  partner: Partner;
  first: CertificateView;
  renew(serial: string, keys: Keys, ms: number, byOperator?: boolean): Promise<CertificateView>;
  sweep(ms: number): Promise<string[]>;
}

async function setup(t: TestContext, target: (typeof targets)[number]): Promise<Env> {
  const storage = await seededStorage(target);
  t.after(() => storage.close());
  const ca = await installCa(storage, {
    settings: { renewal: { windowFraction: 1 / 3, graceMs: 7 * DAY, drainMs: DRAIN } },
  });
  const partner = await createPartner(storage, 'Acme Bank');
  const csrPem = await csrOf(p256());
  const first = await storage.transaction((tx) => ca.issue(tx, { clientId: partner.clientId, csrPem }, META));
  return {
    storage,
    ca,
    partner,
    first,
    async renew(serial, keys, ms, byOperator = false) {
      const csr = await csrOf(keys);
      return storage.transaction((tx) => ca.renew(tx, { serial, csrPem: csr, byOperator }, at(ms)));
    },
    sweep: (ms) => storage.transaction((tx) => ca.supersedeDue(tx, at(ms))),
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

for (const target of targets) {
  describe(`renewal (${target.name})`, { skip: target.skip }, () => {
    test('ok/new key, overlap, renews link, change and audit', async (t) => {
      const env = await setup(t, target);
      const renewed = await env.renew(env.first.serial, p256(), IN_WINDOW);
      assert.equal(renewed.renews, env.first.serial);
      assert.equal(renewed.renewal_count, 1);
      assert.equal(renewed.subject, env.first.subject, 'the platform names it, as before');
      const now = META.now.getTime() + IN_WINDOW;
      assert.ok(Math.abs(new Date(renewed.not_before).getTime() - now) <= 61_000);
      assert.equal(new Date(renewed.not_after).getTime(), Math.floor(now / 1000) * 1000 + 90 * DAY);
      const old = await getCertificate(env.storage.db, env.first.serial);
      assert.equal(old.status, 'active', 'the old certificate stays valid (overlap)');
      assert.equal(old.superseded_by, renewed.serial);
      assert.equal(old.supersede_at, new Date(now + 7 * DAY).toISOString());
      const changes = await env.storage.db
        .selectFrom('change_feed')
        .select(['kind', 'payload'])
        .where('entity_id', '=', renewed.serial)
        .execute();
      assert.equal(changes.length, 1);
      assert.equal(JSON.parse(changes[0]?.payload ?? '{}').renews, env.first.serial);
      const audit = await env.storage.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', renewed.serial)
        .execute();
      assert.deepEqual(audit.map((a) => a.action).sort(), ['certificate.issue', 'certificate.renew']);
      assert.equal((await verifyAuditChain(env.storage.db)).ok, true);
    });

    test('fail/outside the window, same key, revoked, suspended organisation', async (t) => {
      const env = await setup(t, target);
      assert.equal(await code(env.renew(env.first.serial, p256(), 10 * DAY)), 'outside_renewal_window');
      await env.storage.transaction((tx) =>
        setOrganisationStatus(tx, env.partner.orgId, 'suspended', { ...at(IN_WINDOW), reason: 'review' }),
      );
      assert.equal(await code(env.renew(env.first.serial, p256(), IN_WINDOW)), 'organisation_not_active');
      await env.storage.transaction((tx) =>
        setOrganisationStatus(tx, env.partner.orgId, 'active', at(IN_WINDOW)),
      );
      await env.storage.transaction((tx) =>
        env.ca.revoke(tx, env.first.serial, 'keyCompromise', at(IN_WINDOW)),
      );
      assert.equal(await code(env.renew(env.first.serial, p256(), IN_WINDOW)), 'certificate_revoked');
      assert.equal(await code(env.renew('ffff', p256(), IN_WINDOW)), 'not_found');
    });

    test('fail/the current key again (RFC 7030 §4.2.2 rekey)', async (t) => {
      const storage = await seededStorage(target);
      t.after(() => storage.close());
      const ca = await installCa(storage);
      const partner = await createPartner(storage, 'Acme Bank');
      const keys = p256();
      const csrPem = await csrOf(keys);
      const first = await storage.transaction((tx) =>
        ca.issue(tx, { clientId: partner.clientId, csrPem }, META),
      );
      const again = storage.transaction((tx) =>
        ca.renew(tx, { serial: first.serial, csrPem }, at(IN_WINDOW)),
      );
      assert.equal(await code(again), 'same_key');
    });

    test('ok/superseded a drain delay after the successor’s first use', async (t) => {
      const env = await setup(t, target);
      const renewed = await env.renew(env.first.serial, p256(), IN_WINDOW);
      assert.deepEqual(await env.sweep(IN_WINDOW + DAY), [], 'not used yet, grace not over');
      await certificateStore(env.storage.db).recordFirstUse(renewed.x5t_s256, at(IN_WINDOW + DAY).now);
      await certificateStore(env.storage.db).recordFirstUse(renewed.x5t_s256, at(IN_WINDOW + 2 * DAY).now);
      assert.equal(
        (await getCertificate(env.storage.db, renewed.serial)).first_used_at,
        at(IN_WINDOW + DAY).now.toISOString(),
        'the first use is recorded once',
      );
      assert.deepEqual(await env.sweep(IN_WINDOW + DAY + DRAIN - 1000), [], 'requests in flight drain');
      assert.deepEqual(await env.sweep(IN_WINDOW + DAY + DRAIN), [env.first.serial]);
      const old = await getCertificate(env.storage.db, env.first.serial);
      assert.equal(old.status, 'revoked');
      assert.equal(old.revocation_reason, 'superseded');
      assert.equal((await getCertificate(env.storage.db, renewed.serial)).status, 'active');
      assert.deepEqual(await env.sweep(IN_WINDOW + 3 * DAY), [], 'revoked once');
      const crls = await env.storage.db.selectFrom('crls').select('crl_number').execute();
      assert.equal(crls.length, 2, 'a new CRL with the superseded certificate');
    });

    test('ok/superseded after the grace period when the successor is never used', async (t) => {
      const env = await setup(t, target);
      await env.renew(env.first.serial, p256(), IN_WINDOW);
      assert.deepEqual(await env.sweep(IN_WINDOW + 7 * DAY - 1000), []);
      assert.deepEqual(await env.sweep(IN_WINDOW + 7 * DAY), [env.first.serial]);
    });

    test('ok/a successor revoked meanwhile supersedes nothing', async (t) => {
      const env = await setup(t, target);
      const renewed = await env.renew(env.first.serial, p256(), IN_WINDOW);
      await certificateStore(env.storage.db).recordFirstUse(renewed.x5t_s256, at(IN_WINDOW).now);
      await env.storage.transaction((tx) =>
        env.ca.revoke(tx, renewed.serial, 'keyCompromise', at(IN_WINDOW)),
      );
      assert.deepEqual(await env.sweep(IN_WINDOW + 8 * DAY), []);
      assert.equal((await getCertificate(env.storage.db, env.first.serial)).status, 'active');
    });

    test('ok/an unused successor is replaced; a used one makes renewal refused', async (t) => {
      const env = await setup(t, target);
      const lost = await env.renew(env.first.serial, p256(), IN_WINDOW);
      const second = await env.renew(env.first.serial, p256(), IN_WINDOW + 1000);
      const lostNow = await getCertificate(env.storage.db, lost.serial);
      assert.equal(lostNow.status, 'revoked');
      assert.equal(lostNow.revocation_reason, 'superseded');
      assert.equal((await getCertificate(env.storage.db, env.first.serial)).superseded_by, second.serial);
      assert.equal((await getCertificate(env.storage.db, env.first.serial)).status, 'active');
      // A retry of the same request gets the same certificate.
      const keys = p256();
      const third = await env.renew(env.first.serial, keys, IN_WINDOW + 1500);
      const retried = await env.storage.transaction(async (tx) =>
        env.ca.renew(tx, { serial: env.first.serial, csrPem: await csrOf(keys) }, at(IN_WINDOW + 1600)),
      );
      assert.equal(retried.serial, third.serial);
      assert.equal(await code(env.renew(env.first.serial, p256(), IN_WINDOW + 1700)), 'too_many_renewals');
      await certificateStore(env.storage.db).recordFirstUse(third.x5t_s256, at(IN_WINDOW + 2000).now);
      assert.equal(await code(env.renew(env.first.serial, p256(), IN_WINDOW + 3000)), 'already_renewed');
    });

    test('ok/rotation policy: lifetime and key algorithms, at renewal and operator issuance', async (t) => {
      const env = await setup(t, target);
      const policies = rotationPolicyStore(env.storage.db);
      await policies.put(
        'organisation',
        env.partner.orgId,
        { lifetime_days: 30, key_algorithms: ['ES384'], renewals_before_review: null },
        META,
      );
      assert.equal(await code(env.renew(env.first.serial, p256(), IN_WINDOW)), 'key_algorithm_not_allowed');
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const renewed = await env.renew(env.first.serial, p384, IN_WINDOW);
      const lifetime = new Date(renewed.not_after).getTime() - (META.now.getTime() + IN_WINDOW);
      assert.ok(Math.abs(lifetime - 30 * DAY) < 1000, 'the organisation’s lifetime');
      await policies.put(
        'application',
        env.partner.clientId,
        { lifetime_days: 7, key_algorithms: null, renewals_before_review: null },
        META,
      );
      const csrPem = await csrOf(p256());
      const refused = env.storage.transaction((tx) =>
        env.ca.issue(tx, { clientId: env.partner.clientId, csrPem }, META),
      );
      assert.equal(
        await code(refused),
        'key_algorithm_not_allowed',
        'operator issuance follows the policy too',
      );
      const issued = await env.storage.transaction(async (tx) =>
        env.ca.issue(tx, { clientId: env.partner.clientId, csrPem: await csrOf(p384) }, META),
      );
      assert.equal(
        new Date(issued.not_after).getTime() - Math.floor(META.now.getTime() / 1000) * 1000,
        7 * DAY,
      );
      assert.equal(await policies.remove('application', env.partner.clientId), true);
      assert.equal(await policies.remove('application', env.partner.clientId), false);
    });

    test('ok/review limit: refused until an operator approves, then the count starts again', async (t) => {
      const env = await setup(t, target);
      await rotationPolicyStore(env.storage.db).put(
        'application',
        env.partner.clientId,
        { lifetime_days: null, key_algorithms: null, renewals_before_review: 1 },
        META,
      );
      const one = await env.renew(env.first.serial, p256(), IN_WINDOW);
      await certificateStore(env.storage.db).recordFirstUse(one.x5t_s256, at(IN_WINDOW).now);
      const later = IN_WINDOW + 70 * DAY;
      assert.equal(await code(env.renew(one.serial, p256(), later)), 'review_required');
      await env.storage.transaction((tx) => env.ca.approveRenewal(tx, one.serial, at(later)));
      const two = await env.renew(one.serial, p256(), later);
      assert.equal(two.renewal_count, 1);
      const operator = await env.renew(two.serial, p256(), later + 1000, true);
      assert.equal(operator.renewal_count, 0, 'an operator’s renewal is a review');
    });
  });
}
