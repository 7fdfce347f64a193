import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listPlatformEvents, type PlatformEvent } from '../../src/audit/index.ts';
import {
  createApplication,
  createOrganisation,
  seedCatalog,
  setApplicationStatus,
} from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  createCsr,
  crossedThreshold,
  generateKeyPair,
  listExpiring,
  runExpiryMonitor,
} from '../../src/pki/index.ts';
import { expiryKeySources } from '../../src/platform/expiry-monitor.ts';
import { openStorage, type Storage, type StorageOptions } from '../../src/storage/index.ts';
import { CA_CREATED, installCa } from '../support/ca-fixture.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { insertSigningKey } from '../support/signing-key-seed.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const at = (iso: string, offsetMs: number) => new Date(new Date(iso).getTime() + offsetMs);

describe('crossedThreshold', () => {
  const cases: Array<{ name: string; days: number; expected: number | undefined }> = [
    { name: 'ok/31 days left: none yet', days: 31, expected: undefined },
    { name: 'ok/exactly 30 days: 30', days: 30, expected: 30 },
    { name: 'ok/20 days: 30', days: 20, expected: 30 },
    { name: 'ok/first seen at 5 days: 7 only', days: 5, expected: 7 },
    { name: 'ok/12 hours: 1', days: 0.5, expected: 1 },
    { name: 'ok/past due (a key): 1', days: -3, expected: 1 },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(crossedThreshold(c.days * DAY, [30, 14, 7, 1]), c.expected));
  }
  test('ok/unsorted thresholds from configuration', () => {
    assert.equal(crossedThreshold(5 * DAY, [1, 30, 7, 14]), 7);
  });
});

const targets = await engineTargets();

for (const target of targets) {
  describe(`expiry monitor (${target.name})`, { skip: target.skip, timeout: 120_000 }, () => {
    let options: StorageOptions;
    let storage: Storage;
    let ca: CertificateAuthority;

    before(async () => {
      options = target.freshOptions();
      storage = await openStorage(options);
      await storage.transaction((tx) => seedCatalog(tx));
      ca = await installCa(storage);
    });
    after(async () => {
      await storage.close();
      await target.cleanup();
    });

    async function partnerWithCertificate(name: string, issuedAt = META.now) {
      const { orgId, clientId } = await storage.transaction(async (tx) => {
        const orgId = await createOrganisation(
          tx,
          { name, contacts: [{ kind: 'security', name: 'Sec', email: 'sec@example.org' }] },
          META,
        );
        const clientId = await createApplication(
          tx,
          { orgId, name: `${name} app`, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          META,
        );
        return { orgId, clientId };
      });
      const cert = await issue(clientId, issuedAt);
      return { orgId, clientId, cert };
    }

    async function issue(clientId: string, now: Date) {
      const { privateKey, publicKey } = generateKeyPair('ES256');
      const csrPem = await createCsr({ privateKey, publicKey });
      return storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, { actor: 'operator:test', now }));
    }

    const expiringEvents = async (id: string): Promise<PlatformEvent[]> =>
      (await listPlatformEvents(storage, { limit: 1000 })).filter(
        (e) => (e.type === 'certificate.expiring' || e.type === 'key.expiring') && e.subject.id === id,
      );

    test('ok/a partner certificate raises each threshold once; a second pass and a restart repeat nothing', async () => {
      const { orgId, clientId, cert } = await partnerWithCertificate('Threshold Bank');
      const end = cert.not_after;
      // Before the 30-day window: nothing.
      let pass = await runExpiryMonitor({ storage, now: at(end, -31 * DAY) });
      assert.equal((await expiringEvents(cert.serial)).length, 0);
      for (const days of [30, 14, 7, 1]) {
        const now = at(end, -days * DAY + HOUR);
        pass = await runExpiryMonitor({ storage, now });
        assert.ok(pass.recorded >= 1, `the ${days}-day event is recorded`);
        assert.equal((await runExpiryMonitor({ storage, now })).recorded, 0, 'a second pass records nothing');
      }
      // A restart: a new storage handle over the same database records nothing again.
      const restarted = await openStorage(options);
      try {
        const again = await runExpiryMonitor({ storage: restarted, now: at(end, -HOUR) });
        assert.equal(again.recorded, 0);
      } finally {
        await restarted.close();
      }
      const events = await expiringEvents(cert.serial);
      assert.deepEqual(
        events.map((e) => e.data.threshold),
        [30, 14, 7, 1],
      );
      const last = events.at(-1)!;
      assert.equal(last.type, 'certificate.expiring');
      assert.equal(last.orgId, orgId);
      assert.equal(last.clientId, clientId);
      assert.deepEqual(last.subject, { kind: 'certificate', id: cert.serial, x5t_s256: cert.x5t_s256 });
      assert.equal(last.data.not_after, end);
      assert.equal(last.data.days_left, 0);
      assert.equal(last.data.application_name, 'Threshold Bank app');
      assert.deepEqual(
        events.map((e) => e.data.days_left),
        [29, 13, 6, 0],
      );
      // Expired: no longer "expiring".
      assert.equal((await runExpiryMonitor({ storage, now: at(end, HOUR) })).recorded, 0);
    });

    test('ok/first seen with 5 days left: the 7-day event only, then the 1-day one', async () => {
      const { cert } = await partnerWithCertificate('Late Bank');
      await runExpiryMonitor({ storage, now: at(cert.not_after, -5 * DAY) });
      assert.deepEqual(
        (await expiringEvents(cert.serial)).map((e) => e.data.threshold),
        [7],
      );
      await runExpiryMonitor({ storage, now: at(cert.not_after, -12 * HOUR) });
      assert.deepEqual(
        (await expiringEvents(cert.serial)).map((e) => e.data.threshold),
        [7, 1],
      );
    });

    test('fail/revoked, renewed and suspended-application certificates are not reported', async () => {
      const revoked = await partnerWithCertificate('Revoked Bank');
      await storage.transaction((tx) =>
        ca.revoke(tx, revoked.cert.serial, 'keyCompromise', { actor: 'operator:test', now: META.now }),
      );
      const renewed = await partnerWithCertificate('Renewed Bank');
      const successor = await issue(renewed.clientId, at(META.now.toISOString(), 10 * DAY));
      const suspended = await partnerWithCertificate('Suspended Bank');
      await storage.transaction((tx) => setApplicationStatus(tx, suspended.clientId, 'suspended', META));
      const now = at(revoked.cert.not_after, -2 * DAY);
      await runExpiryMonitor({ storage, now });
      assert.equal((await expiringEvents(revoked.cert.serial)).length, 0, 'revoked');
      assert.equal((await expiringEvents(renewed.cert.serial)).length, 0, 'renewed');
      assert.equal((await expiringEvents(suspended.cert.serial)).length, 0, 'suspended application');
      // The successor itself is reported when its own time comes (it was 12 days from its end above).
      await runExpiryMonitor({ storage, now: at(successor.not_after, -2 * DAY) });
      assert.deepEqual(
        (await expiringEvents(successor.serial)).map((e) => e.data.threshold),
        [14, 7],
      );
    });

    test('ok/CA certificates: the issuing CA is reported to operators (no organisation)', async () => {
      const rows = await listExpiring(
        storage.db,
        at(CA_CREATED.toISOString(), 10 * 365 * DAY - 20 * DAY),
        30,
      );
      const issuing = rows.find((r) => r.kind === 'ca_certificate');
      assert.ok(issuing, 'the issuing CA (10 years) is within 30 days');
      assert.equal(rows.filter((r) => r.kind === 'ca_certificate').length, 1, 'the 20-year root is not');
      const now = at(issuing.notAfter, -10 * DAY);
      await runExpiryMonitor({ storage, now });
      const events = await expiringEvents(issuing.id);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'certificate.expiring');
      assert.equal(events[0]!.orgId, null);
      assert.equal(events[0]!.subject.kind, 'ca_certificate');
      assert.equal(events[0]!.subject.ca_kind, 'issuing');
      assert.equal(events[0]!.data.threshold, 14);
    });

    test('ok/signing keys: due at created_at + keys.maxAgeDays; retired keys are not', async () => {
      const created = new Date('2027-01-01T00:00:00.000Z');
      const fed = await insertSigningKey(storage, 'federation', { alg: 'ES256', created });
      const ssa = await insertSigningKey(storage, 'software_statement', { alg: 'ES256', created });
      const atk = await insertSigningKey(storage, 'access_token', { alg: 'ES256', created });
      const retired = await insertSigningKey(storage, 'federation', {
        alg: 'ES256',
        created,
        status: 'retired',
        until: at(created.toISOString(), DAY),
      });
      const keySources = expiryKeySources(365);
      const now = at(created.toISOString(), 360 * DAY);
      await runExpiryMonitor({ storage, now, keySources });
      for (const [kid, purpose] of [
        [fed, 'federation'],
        [ssa, 'software_statement'],
        [atk, 'access_token'],
      ] as const) {
        const events = await expiringEvents(kid);
        assert.equal(events.length, 1, purpose);
        assert.equal(events[0]!.type, 'key.expiring');
        assert.deepEqual(events[0]!.subject, { kind: 'key', id: kid, purpose });
        assert.equal(events[0]!.data.threshold, 7);
        assert.equal(events[0]!.data.days_left, 5);
        assert.equal(events[0]!.data.not_after, at(created.toISOString(), 365 * DAY).toISOString());
      }
      assert.equal((await expiringEvents(retired)).length, 0, 'a retired key is not reported');
      // keys.maxAgeDays 0: keys are never due.
      assert.deepEqual(expiryKeySources(0), []);
      // A key past its maximum age is still reported (overdue, days_left 0) at the 1-day threshold.
      await runExpiryMonitor({ storage, now: at(created.toISOString(), 400 * DAY), keySources });
      assert.deepEqual(
        (await expiringEvents(fed)).map((e) => [e.data.threshold, e.data.days_left]),
        [
          [7, 5],
          [1, 0],
        ],
      );
    });

    // SQLite is one process's embedded database; several nodes share PostgreSQL.
    test('ok/two monitors at once (two nodes) record each event once', {
      skip: target.name === 'sqlite' ? 'several nodes run on PostgreSQL' : false,
    }, async () => {
      const { cert } = await partnerWithCertificate('Parallel Bank');
      const now = at(cert.not_after, -3 * DAY);
      const second = await openStorage(options);
      try {
        const results = await Promise.all([
          runExpiryMonitor({ storage, now }),
          runExpiryMonitor({ storage: second, now }),
        ]);
        assert.ok(results.every((r) => r.seen >= 1));
      } finally {
        await second.close();
      }
      assert.equal((await expiringEvents(cert.serial)).length, 1);
    });
  });
}
