import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import * as asn1js from 'asn1js';
import { type Kysely, sql } from 'kysely';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { setApplicationStatus, setOrganisationStatus } from '../../src/directory/index.ts';
import {
  type CaSettings,
  type CertificateAuthority,
  type CertificateView,
  getCertificate,
  listCertificates,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import type { Change, Database, Storage } from '../../src/storage/index.ts';
import { CA_CREATED, createPartner, installCa, issuingCaPem, type Partner } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { type EngineTarget, engineTargets } from '../support/engines.ts';
import { csrFor, epoch, genpkey, opensslOk, TempDir } from './openssl.ts';

const targets = await engineTargets();
const dir = new TempDir();
after(() => dir.remove());

const DAY = 86_400_000;
const HOUR = 3_600_000;
const LATER = { actor: 'operator:test', now: new Date(META.now.getTime() + DAY) };

// Requested subjects are ignored: the platform names the certificate from the directory.
const csrs: Record<'good' | 'rsa1024' | 'garbage' | 'badSignature', string> = {
  good: '',
  rsa1024: '',
  garbage: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all!\n-----END CERTIFICATE REQUEST-----\n',
  badSignature: '',
};

before(() => {
  const ec = genpkey(dir, 'ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const rsa = genpkey(dir, 'rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
  csrs.good = csrFor(ec, [], '/CN=evil/O=Evil Corp');
  csrs.rsa1024 = csrFor(rsa);
  const der = opensslOk(['req', '-outform', 'DER'], { input: csrs.good }).stdoutBytes;
  der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
  csrs.badSignature = opensslOk(['req', '-inform', 'DER'], { input: der }).stdout;
});

type Table = 'certificates' | 'audit_log' | 'change_feed' | 'crls';

async function count(db: Kysely<Database>, table: Table): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(
    db,
  );
  return Number(rows[0]?.n);
}

async function counts(db: Kysely<Database>): Promise<Record<Table, number>> {
  return {
    certificates: await count(db, 'certificates'),
    audit_log: await count(db, 'audit_log'),
    change_feed: await count(db, 'change_feed'),
    crls: await count(db, 'crls'),
  };
}

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  partner: Partner;
  issue(clientId?: string): Promise<CertificateView>;
}

async function setup(t: TestContext, target: EngineTarget, settings?: Partial<CaSettings>): Promise<Env> {
  const storage = await seededStorage(target);
  t.after(() => storage.close());
  const ca = await installCa(storage, settings ? { settings } : {});
  const partner = await createPartner(storage, 'Acme Bank');
  const issue = (clientId = partner.clientId) =>
    storage.transaction((tx) => ca.issue(tx, { clientId, csrPem: csrs.good }, META));
  return { storage, ca, partner, issue };
}

function certText(pem: string, ...args: string[]): string {
  return opensslOk(['x509', '-noout', ...args], { input: pem }).stdout;
}

function crlText(der: Buffer): string {
  return opensslOk(['crl', '-inform', 'DER', '-noout', '-text'], { input: der }).stdout;
}

/** openssl prints serials as upper-case hex. */
const opensslSerial = (serial: string) => serial.toUpperCase();

function crlNumberOf(crl: x509.X509Crl): number {
  const ext = crl.extensions.find((e) => e.type === '2.5.29.20');
  assert.ok(ext, 'CRL has no CRL Number extension');
  const int = asn1js.fromBER(ext.value).result;
  assert.ok(int instanceof asn1js.Integer);
  return int.valueBlock.valueDec;
}

async function crlHistory(db: Kysely<Database>) {
  const rows = await db.selectFrom('crls').selectAll().orderBy('crl_number').execute();
  return rows.map((r) => {
    const crl = new x509.X509Crl(Buffer.from(r.der_base64, 'base64'));
    return {
      stored: Number(r.crl_number),
      embedded: crlNumberOf(crl),
      serials: crl.entries.map((e) => e.serialNumber.toLowerCase()),
    };
  });
}

/** PostgreSQL: until some session waits on a row lock (bounded; only the race's coverage depends on it). */
async function waitForLockWait(db: Kysely<Database>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await sql<{ n: number | string }>`
      SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`.execute(db);
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const codeOf = (code: string, status: number) => (err: unknown) => {
  const e = err as { code?: string; status?: number };
  assert.equal(e.code, code, `expected ${code}, got ${String(err)}`);
  assert.equal(e.status, status);
  return true;
};

interface IssueFailure {
  name: string;
  prepare?: (storage: Storage, partner: Partner) => Promise<unknown>;
  clientId?: string;
  csr: () => string;
  code: string;
  status: number;
  findings?: string[];
}

const issueFailures: IssueFailure[] = [
  {
    name: 'fail/unknown application',
    clientId: 'cl_doesnotexist0000000000',
    csr: () => csrs.good,
    code: 'not_found',
    status: 404,
  },
  {
    name: 'fail/suspended application',
    prepare: (s, p) => s.transaction((tx) => setApplicationStatus(tx, p.clientId, 'suspended', META)),
    csr: () => csrs.good,
    code: 'application_not_active',
    status: 409,
  },
  {
    name: 'fail/suspended organisation',
    prepare: (s, p) => s.transaction((tx) => setOrganisationStatus(tx, p.orgId, 'suspended', META)),
    csr: () => csrs.good,
    code: 'organisation_not_active',
    status: 409,
  },
  {
    name: 'fail/weak RSA-1024 key (CA/Browser Forum BR §6.1.5)',
    csr: () => csrs.rsa1024,
    code: 'invalid_csr',
    status: 400,
    findings: ['weak_key'],
  },
  {
    name: 'fail/garbage PEM',
    csr: () => csrs.garbage,
    code: 'invalid_csr',
    status: 400,
    findings: ['malformed_pem'],
  },
  {
    name: 'fail/bad signature is no proof of possession (RFC 2986 §3)',
    csr: () => csrs.badSignature,
    code: 'invalid_csr',
    status: 400,
    findings: ['bad_signature'],
  },
];

for (const target of targets) {
  describe(`certificate authority: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    describe('issue', () => {
      test('ok/certificate is stored, named from the directory, thumbprinted and audited', async (t) => {
        const { storage, partner, issue } = await setup(t, target);
        const before = await counts(storage.db);
        const issued = await issue();

        const stored = await getCertificate(storage.db, issued.serial);
        assert.deepEqual(stored, issued);
        assert.match(issued.serial, /^[0-9a-f]{40}$/);
        assert.equal(issued.status, 'active');
        assert.equal(issued.client_id, partner.clientId);
        assert.equal(issued.org_id, partner.orgId);
        assert.equal(issued.key, 'EC P-256');
        assert.equal(issued.revoked_at, null);

        // RFC 8705 §3.1: x5t#S256 is the base64url SHA-256 of the DER certificate.
        const der = opensslOk(['x509', '-outform', 'DER'], { input: issued.certificate_pem }).stdoutBytes;
        const digest = opensslOk(['dgst', '-sha256', '-binary'], { input: der }).stdoutBytes;
        assert.equal(issued.x5t_s256, digest.toString('base64url'));

        assert.equal(issued.subject, `CN=${partner.clientId},2.5.4.97=${partner.orgId},O=Acme Bank`);
        assert.equal(
          certText(issued.certificate_pem, '-subject', '-nameopt', 'RFC2253,oid').trim(),
          `subject=2.5.4.3=${partner.clientId},2.5.4.97=${partner.orgId},2.5.4.10=Acme Bank`,
        );
        assert.doesNotMatch(certText(issued.certificate_pem, '-text'), /evil/i);
        assert.equal(
          opensslSerial(issued.serial),
          certText(issued.certificate_pem, '-serial').trim().slice(7),
        );

        // The chain the CA hands out verifies the certificate for TLS client use at issuance time.
        const chain = dir.write(
          `chain-${target.name}.pem`,
          (await storage.db.selectFrom('certificate_authorities').select('cert_pem').execute())
            .map((r) => r.cert_pem)
            .join(''),
        );
        const leaf = dir.write(`leaf-${target.name}.pem`, issued.certificate_pem);
        opensslOk(['verify', '-CAfile', chain, '-purpose', 'sslclient', '-attime', epoch(META.now), leaf]);

        const after = await counts(storage.db);
        assert.equal(after.certificates, before.certificates + 1);
        // Enforcement points learn whose certificate it is: it binds that application's tokens only.
        assert.equal(after.change_feed, before.change_feed + 1);
        const published = await storage.db
          .selectFrom('change_feed')
          .selectAll()
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirstOrThrow();
        assert.equal(published.kind, 'cert.issued');
        assert.equal(published.entity_id, issued.serial);
        assert.deepEqual(JSON.parse(published.payload), {
          x5t_s256: issued.x5t_s256,
          client_id: issued.client_id,
          org_id: issued.org_id,
          not_after: issued.not_after,
        });
        assert.equal(after.crls, before.crls);
        const audit = await storage.db
          .selectFrom('audit_log')
          .selectAll()
          .where('action', '=', 'certificate.issue')
          .execute();
        assert.equal(audit.length, 1);
        assert.equal(audit[0]?.target_id, issued.serial);
        assert.equal(audit[0]?.actor, META.actor);
        assert.deepEqual(JSON.parse(audit[0]?.details ?? '{}'), {
          client_id: partner.clientId,
          org_id: partner.orgId,
          x5t_s256: issued.x5t_s256,
          not_after: issued.not_after,
          key: 'EC P-256',
        });
        assert.equal((await verifyAuditChain(storage.db)).ok, true);
      });

      for (const days of [90, 7]) {
        test(`ok/validity is partnerCertDays (${days}) from now, backdated one minute`, async (t) => {
          const { issue } = await setup(t, target, { partnerCertDays: days });
          const issued = await issue();
          assert.equal(issued.not_after, new Date(META.now.getTime() + days * DAY).toISOString());
          assert.equal(issued.not_before, new Date(META.now.getTime() - 60_000).toISOString());
          const dates = certText(issued.certificate_pem, '-dates');
          assert.match(dates, /notBefore=Mar {2}1 09:59:00 2026 GMT/);
          const end = new Date(META.now.getTime() + days * DAY).toUTCString().slice(5, 16); // "30 May 2026"
          const [d, m, y] = end.split(' ');
          assert.match(dates, new RegExp(`notAfter=${m} +${Number(d)} 10:00:00 ${y} GMT`));
        });
      }

      for (const c of issueFailures) {
        test(`${c.name} → ${c.code}; no certificate, no audit entry`, async (t) => {
          const { storage, ca, partner } = await setup(t, target);
          await c.prepare?.(storage, partner);
          const before = await counts(storage.db);
          await assert.rejects(
            storage.transaction((tx) =>
              ca.issue(tx, { clientId: c.clientId ?? partner.clientId, csrPem: c.csr() }, META),
            ),
            (err: unknown) => {
              codeOf(c.code, c.status)(err);
              if (c.findings) {
                const details = (err as { details?: { errors?: Array<{ code: string }> } }).details;
                assert.deepEqual(
                  details?.errors?.map((f) => f.code),
                  c.findings,
                );
              }
              return true;
            },
          );
          assert.deepEqual(await counts(storage.db), before);
        });
      }

      test('fail/the issuing CA expires before the requested validity → ca_expiring', async (t) => {
        const { storage, ca, partner } = await setup(t, target);
        const issuing = new x509.X509Certificate(await issuingCaPem());
        const late = { ...META, now: new Date(issuing.notAfter.getTime() - 30 * DAY) };
        await assert.rejects(
          storage.transaction((tx) => ca.issue(tx, { clientId: partner.clientId, csrPem: csrs.good }, late)),
          codeOf('ca_expiring', 409),
        );
        assert.equal(await count(storage.db, 'certificates'), 0);
      });

      test('ok/issuance rolls back with the caller’s transaction', async (t) => {
        const { storage, ca, partner } = await setup(t, target);
        const before = await counts(storage.db);
        const boom = new Error('boom after issue');
        await assert.rejects(
          storage.transaction(async (tx) => {
            const issued = await ca.issue(tx, { clientId: partner.clientId, csrPem: csrs.good }, META);
            assert.equal((await getCertificate(tx.db, issued.serial)).status, 'active');
            throw boom;
          }),
          boom,
        );
        assert.deepEqual(await counts(storage.db), before);
      });
    });

    describe('list and get', () => {
      test('ok/filters by client, organisation and status; the list leaves out the PEM', async (t) => {
        const { storage, ca, partner, issue } = await setup(t, target);
        const other = await createPartner(storage, 'Other Bank');
        const a = await issue();
        const b = await issue();
        const c = await issue(other.clientId);
        await storage.transaction((tx) => ca.revoke(tx, b.serial, 'superseded', LATER));

        const serials = async (filter: Parameters<typeof listCertificates>[1]) =>
          (await listCertificates(storage.db, filter)).map((r) => r.serial).sort();
        assert.deepEqual(await serials({}), [a.serial, b.serial, c.serial].sort());
        assert.deepEqual(await serials({ clientId: partner.clientId }), [a.serial, b.serial].sort());
        assert.deepEqual(await serials({ orgId: other.orgId }), [c.serial]);
        assert.deepEqual(await serials({ orgId: partner.orgId, status: 'active' }), [a.serial]);
        assert.deepEqual(await serials({ status: 'revoked' }), [b.serial]);
        for (const row of await listCertificates(storage.db, {}))
          assert.equal('certificate_pem' in row, false);
      });

      test('ok/get accepts colon-separated upper-case serials; fail/unknown serial → not_found', async (t) => {
        const { storage, issue } = await setup(t, target);
        const issued = await issue();
        const colons = issued.serial.toUpperCase().match(/../g)?.join(':') ?? '';
        assert.equal((await getCertificate(storage.db, colons)).serial, issued.serial);
        await assert.rejects(getCertificate(storage.db, '7f'.repeat(20)), codeOf('not_found', 404));
      });
    });

    describe('revoke', () => {
      test('ok/revocation is stored, delivered on the feed before commit returns, and on a new CRL', async (t) => {
        const { storage, ca, partner, issue } = await setup(t, target);
        const issued = await issue();
        const seen: Change[] = [];
        await storage.feed.start();
        storage.feed.subscribe((c) => seen.push(c));
        const crlBefore = await ca.latestCrl(storage.db);

        const revoked = await storage.transaction((tx) =>
          ca.revoke(tx, issued.serial, 'keyCompromise', LATER),
        );
        // No await between the commit and this check: the subscriber already knows.
        assert.deepEqual(
          seen.map((c) => [c.kind, c.entityId, c.payload]),
          [
            [
              'cert.revoked',
              issued.serial,
              {
                x5t_s256: issued.x5t_s256,
                client_id: partner.clientId,
                org_id: partner.orgId,
                reason: 'keyCompromise',
              },
            ],
          ],
        );

        assert.equal(revoked.status, 'revoked');
        const stored = await getCertificate(storage.db, issued.serial);
        assert.deepEqual(stored, revoked);
        assert.equal(stored.revocation_reason, 'keyCompromise');
        assert.equal(stored.revoked_at, LATER.now.toISOString());

        const crl = await ca.latestCrl(storage.db);
        assert.ok(crlBefore && crl);
        assert.equal(crl.crlNumber, crlBefore.crlNumber + 1);
        assert.equal(crl.thisUpdate, LATER.now.toISOString());
        assert.equal(crl.nextUpdate, new Date(LATER.now.getTime() + 168 * HOUR).toISOString());
        const text = crlText(crl.der);
        assert.match(text, new RegExp(`X509v3 CRL Number:\\s*\\n\\s+${crl.crlNumber}\\n`));
        assert.match(
          text,
          new RegExp(
            `Serial Number: ${opensslSerial(issued.serial)}\\s+Revocation Date: Mar {2}2 10:00:00 2026 GMT` +
              '\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise',
          ),
        );
        const issuer = dir.write(`issuing-${target.name}.pem`, await issuingCaPem());
        const check = opensslOk(['crl', '-inform', 'DER', '-CAfile', issuer, '-noout'], { input: crl.der });
        assert.match(check.stderr + check.stdout, /verify OK/);

        const audit = await storage.db
          .selectFrom('audit_log')
          .select(['target_id', 'details'])
          .where('action', '=', 'certificate.revoke')
          .execute();
        assert.deepEqual(
          audit.map((a) => a.target_id),
          [issued.serial],
        );
        assert.equal(JSON.parse(audit[0]?.details ?? '{}').reason, 'keyCompromise');
      });

      test('ok/serial is accepted with colons and upper case', async (t) => {
        const { storage, ca, issue } = await setup(t, target);
        const issued = await issue();
        const colons = issued.serial.toUpperCase().match(/../g)?.join(':') ?? '';
        const revoked = await storage.transaction((tx) => ca.revoke(tx, colons, 'superseded', LATER));
        assert.equal(revoked.serial, issued.serial);
        assert.equal((await getCertificate(storage.db, issued.serial)).status, 'revoked');
      });

      const revokeFailures: Array<{
        name: string;
        serial: (issued: CertificateView) => string;
        reason: string;
        code: string;
        status: number;
        revokeFirst?: boolean;
      }> = [
        {
          name: 'fail/revoking twice → already_revoked',
          serial: (i) => i.serial,
          reason: 'superseded',
          revokeFirst: true,
          code: 'already_revoked',
          status: 409,
        },
        {
          name: 'fail/unknown serial → not_found',
          serial: () => '7e'.repeat(20),
          reason: 'superseded',
          code: 'not_found',
          status: 404,
        },
        {
          // RFC 5280 §5.3.1 certificateHold is refused: revocation here is final.
          name: 'fail/certificateHold → invalid_reason',
          serial: (i) => i.serial,
          reason: 'certificateHold',
          code: 'invalid_reason',
          status: 400,
        },
        {
          name: 'fail/unknown reason → invalid_reason',
          serial: (i) => i.serial,
          reason: 'because',
          code: 'invalid_reason',
          status: 400,
        },
      ];
      for (const c of revokeFailures) {
        test(`${c.name}; nothing is written`, async (t) => {
          const { storage, ca, issue } = await setup(t, target);
          const issued = await issue();
          if (c.revokeFirst)
            await storage.transaction((tx) => ca.revoke(tx, issued.serial, 'superseded', META));
          const before = await counts(storage.db);
          const cert = await getCertificate(storage.db, issued.serial);
          await assert.rejects(
            storage.transaction((tx) => ca.revoke(tx, c.serial(issued), c.reason, LATER)),
            codeOf(c.code, c.status),
          );
          assert.deepEqual(await counts(storage.db), before);
          assert.deepEqual(await getCertificate(storage.db, issued.serial), cert);
        });
      }

      test('ok/revocation rolls back with the caller’s transaction: still active, same CRL, no change', async (t) => {
        const { storage, ca, issue } = await setup(t, target);
        const issued = await issue();
        const seen: Change[] = [];
        await storage.feed.start();
        storage.feed.subscribe((c) => seen.push(c));
        const before = await counts(storage.db);
        const crlBefore = await ca.latestCrl(storage.db);
        const boom = new Error('boom after revoke');
        await assert.rejects(
          storage.transaction(async (tx) => {
            await ca.revoke(tx, issued.serial, 'keyCompromise', LATER);
            throw boom;
          }),
          boom,
        );
        await storage.feed.sync();
        assert.deepEqual(seen, []);
        assert.deepEqual(await counts(storage.db), before);
        assert.equal((await getCertificate(storage.db, issued.serial)).status, 'active');
        assert.equal((await ca.latestCrl(storage.db))?.crlNumber, crlBefore?.crlNumber);
      });

      test('ok/concurrent revocations of one certificate: exactly one wins, one change, one audit entry', async (t) => {
        const { storage, ca, issue } = await setup(t, target);
        const issued = await issue();
        const results = await Promise.allSettled(
          Array.from({ length: 4 }, () =>
            storage.transaction((tx) => ca.revoke(tx, issued.serial, 'keyCompromise', LATER)),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') codeOf('already_revoked', 409)(r.reason);
        }
        const changes = await storage.db.selectFrom('change_feed').selectAll().execute();
        assert.equal(changes.filter((c) => c.kind === 'cert.revoked').length, 1);
        const audit = await storage.db
          .selectFrom('audit_log')
          .select('action')
          .where('action', '=', 'certificate.revoke')
          .execute();
        assert.equal(audit.length, 1);
      });

      test('ok/CRL numbers stay strictly increasing under concurrent revocations (RFC 5280 §5.2.3)', async (t) => {
        const { storage, ca, issue } = await setup(t, target);
        const issued: CertificateView[] = [];
        for (let i = 0; i < 6; i++) issued.push(await issue());
        await Promise.all(
          issued.map((c) => storage.transaction((tx) => ca.revoke(tx, c.serial, 'superseded', LATER))),
        );
        const history = await crlHistory(storage.db);
        assert.deepEqual(
          history.map((h) => h.stored),
          [1, 2, 3, 4, 5, 6, 7],
        );
        for (const h of history) assert.equal(h.embedded, h.stored);
        // Each CRL lists every revocation committed before it: none is ever dropped by a later one.
        for (const [i, h] of history.entries()) {
          assert.equal(h.serials.length, i);
          for (const s of history[i - 1]?.serials ?? []) assert.ok(h.serials.includes(s));
        }
        assert.deepEqual(history.at(-1)?.serials.sort(), issued.map((c) => c.serial).sort());
      });
    });

    describe('revokeAllOfOrganisation', () => {
      test('ok/revokes only that organisation’s active certificates under one new CRL', async (t) => {
        const { storage, ca, partner, issue } = await setup(t, target);
        const other = await createPartner(storage, 'Other Bank');
        const a1 = await issue();
        const a2 = await issue();
        const gone = await issue();
        const b = await issue(other.clientId);
        await storage.transaction((tx) => ca.revoke(tx, gone.serial, 'superseded', META));
        const crlBefore = await ca.latestCrl(storage.db);
        const goneBefore = await getCertificate(storage.db, gone.serial);

        const n = await storage.transaction((tx) =>
          ca.revokeAllOfOrganisation(tx, partner.orgId, 'cessationOfOperation', LATER),
        );
        assert.equal(n, 2);
        for (const s of [a1.serial, a2.serial]) {
          const cert = await getCertificate(storage.db, s);
          assert.equal(cert.status, 'revoked');
          assert.equal(cert.revocation_reason, 'cessationOfOperation');
        }
        assert.deepEqual(await getCertificate(storage.db, gone.serial), goneBefore);
        assert.equal((await getCertificate(storage.db, b.serial)).status, 'active');

        const crls = await crlHistory(storage.db);
        assert.equal(crls.length, (crlBefore?.crlNumber ?? 0) + 1);
        assert.deepEqual(crls.at(-1)?.serials.sort(), [a1.serial, a2.serial, gone.serial].sort());
        const changes = await storage.db
          .selectFrom('change_feed')
          .select('entity_id')
          .where('kind', '=', 'cert.revoked')
          .where('at', '=', LATER.now.toISOString())
          .execute();
        assert.deepEqual(changes.map((c) => c.entity_id).sort(), [a1.serial, a2.serial].sort());
      });

      test('fail/issuance racing an offboarding never leaves an active certificate behind', async (t) => {
        const { storage, ca, partner } = await setup(t, target);
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        let offboarded!: () => void;
        const reachedGate = new Promise<void>((resolve) => {
          offboarded = resolve;
        });
        const offboarding = storage.transaction(async (tx) => {
          await setOrganisationStatus(tx, partner.orgId, 'offboarded', LATER);
          await ca.revokeAllOfOrganisation(tx, partner.orgId, 'cessationOfOperation', LATER);
          offboarded();
          await gate; // still uncommitted while the issuance below starts
        });
        await reachedGate;
        const issuing = storage.transaction((tx) =>
          ca.issue(tx, { clientId: partner.clientId, csrPem: csrs.good }, LATER),
        );
        issuing.catch(() => {});
        if (target.name === 'postgres') await waitForLockWait(storage.db);
        release();
        await offboarding;
        await assert.rejects(issuing, codeOf('organisation_not_active', 409));
        assert.deepEqual(await listCertificates(storage.db, { orgId: partner.orgId, status: 'active' }), []);
      });

      test('ok/an organisation without active certificates gets no new CRL', async (t) => {
        const { storage, ca, partner } = await setup(t, target);
        const before = await counts(storage.db);
        const n = await storage.transaction((tx) =>
          ca.revokeAllOfOrganisation(tx, partner.orgId, 'cessationOfOperation', LATER),
        );
        assert.equal(n, 0);
        assert.deepEqual(await counts(storage.db), before);
      });
    });

    describe('needsFreshCrl', () => {
      test('ok/fresh until half the validity has passed, then due (injected time)', async (t) => {
        const { storage, ca } = await setup(t, target);
        const at = (hours: number, extraMs = 0) => new Date(CA_CREATED.getTime() + hours * HOUR + extraMs);
        assert.equal(await ca.needsFreshCrl(storage.db, CA_CREATED), false);
        assert.equal(await ca.needsFreshCrl(storage.db, at(83)), false);
        assert.equal(await ca.needsFreshCrl(storage.db, at(84)), false);
        assert.equal(await ca.needsFreshCrl(storage.db, at(84, 1000)), true);
        assert.equal(await ca.needsFreshCrl(storage.db, at(200)), true);
        const now = at(100);
        await storage.transaction((tx) => ca.publishCrl(tx, now));
        assert.equal(await ca.needsFreshCrl(storage.db, now), false);
      });

      test('ok/due when no CRL has been published yet', async (t) => {
        const storage = await seededStorage(target);
        t.after(() => storage.close());
        const ca = await installCa(storage, { firstCrl: false });
        assert.equal(await ca.needsFreshCrl(storage.db, CA_CREATED), true);
        assert.equal(await ca.latestCrl(storage.db), undefined);
      });
    });
  });
}
