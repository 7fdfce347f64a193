// Issue 16: the operator overview is a handful of aggregate queries and every access-review section is a
// keyset-paged list — correct on a small seeded directory (suspended, deleted, pending, renewed items) and
// answering at 100,000 applications, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Insertable, sql } from 'kysely';
import { countRegistrationRecords } from '../../src/authorization-server/index.ts';
import {
  createApplication,
  createOrganisation,
  deregisterApplication,
  directoryOverviewCounts,
  listRoleHoldersPage,
  roleHolderCounts,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import { countCertificates, expiringPartnerCertificatesPage } from '../../src/pki/index.ts';
import { listInactiveClientsPage } from '../../src/platform/inactive-clients.ts';
import { type CursorKey, decodeCursor, pageRequest } from '../../src/shared/page-cursor.ts';
import type { Database, Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-06-01T12:00:00.000Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString();
const targets = await engineTargets();

/** Walks a paged store function from the start to the last page; every page at most `limit` items. */
async function walk<T>(
  read: (page: { limit: number; after?: CursorKey }) => Promise<{ items: T[]; next_cursor: string | null }>,
  limit: number,
  arity = 2,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { items: T[]; next_cursor: string | null } = await read(
      pageRequest({ limit, cursor: cursor ?? undefined }, arity),
    );
    assert.ok(page.items.length <= limit, `a page holds at most ${limit}`);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (cursor) decodeCursor(cursor, arity);
    pages++;
  } while (cursor);
  return { items, pages };
}

async function insertCa(storage: Storage): Promise<string> {
  const id = `ca-${randomBytes(4).toString('hex')}`;
  await storage.db
    .insertInto('certificate_authorities')
    .values({
      id,
      kind: 'issuing',
      subject: 'CN=Test Issuing CA',
      serial: randomBytes(8).toString('hex'),
      cert_pem: 'test',
      key_pem: null,
      not_before: at(-400),
      not_after: at(4000),
      created_at: at(-400),
      crl_url: null,
      status_changed_at: null,
      revocation_reason: null,
    })
    .execute();
  return id;
}

function certificate(
  caId: string,
  clientId: string,
  orgId: string,
  notAfter: string,
  status: 'active' | 'revoked' = 'active',
): Insertable<Database['certificates']> {
  const serial = randomBytes(10).toString('hex');
  return {
    serial,
    client_id: clientId,
    org_id: orgId,
    issuer_ca_id: caId,
    subject: `CN=${clientId}`,
    issuer: 'CN=Test Issuing CA',
    x5t_s256: randomBytes(32).toString('base64url'),
    key_description: 'EC P-256',
    cert_pem: 'test',
    not_before: at(-100),
    not_after: notAfter,
    status,
    revoked_at: status === 'revoked' ? at(-1) : null,
    revocation_reason: status === 'revoked' ? 'keyCompromise' : null,
    created_at: at(-100),
  };
}

const app = (storage: Storage, orgId: string, name: string, roles = ['partner_reader']) =>
  storage.transaction((tx) =>
    createApplication(
      tx,
      { orgId, name, roles, authMethod: 'tls_client_auth', allowNoRoles: roles.length === 0 },
      { ...META, now: NOW },
    ),
  );

for (const target of targets) {
  describe(`operator overview and access reviews: ${target.name}`, { skip: target.skip }, () => {
    describe('a small seeded directory', () => {
      let storage: Storage;
      const ids: Record<string, string> = {};
      before(async () => {
        storage = await seededStorage(target);
        const meta = { ...META, now: NOW };
        for (const name of ['Active Bank', 'Suspended Bank', 'Offboarded Bank']) {
          ids[name] = await storage.transaction((tx) => createOrganisation(tx, { name }, meta));
        }
        const orgId = ids['Active Bank'] as string;
        ids.live = await app(storage, orgId, 'Live');
        ids.renewed = await app(storage, orgId, 'Renewed', ['partner_reader', 'partner_writer']);
        ids.paused = await app(storage, orgId, 'Paused');
        ids.gone = await app(storage, orgId, 'Gone');
        ids.far = await app(storage, orgId, 'Far', []);
        await storage.transaction(async (tx) => {
          await setApplicationStatus(tx, ids.paused as string, 'suspended', meta);
          await deregisterApplication(tx, ids.gone as string, { ...meta, reason: 'test' });
          await setOrganisationStatus(tx, ids['Suspended Bank'] as string, 'suspended', meta);
          await setOrganisationStatus(tx, ids['Offboarded Bank'] as string, 'offboarded', meta);
        });
        const requests = [
          ['pending', 'partner_writer'],
          ['pending', 'partner_analyst'],
          ['approved', 'partner_writer'],
          ['rejected', 'partner_analyst'],
        ] as const;
        for (const [i, [status, role]] of requests.entries()) {
          await storage.db
            .insertInto('role_requests')
            .values({
              id: `rr-${i}`,
              org_id: orgId,
              client_id: ids.live as string,
              role,
              status,
              requested_by: 'member:test',
              requested_at: at(-i),
              decided_by: status === 'pending' ? null : 'operator:test',
              decided_at: status === 'pending' ? null : at(0),
              reason: null,
            })
            .execute();
        }
        const caId = await insertCa(storage);
        const certs = {
          live10: certificate(caId, ids.live as string, orgId, at(10)),
          renewedOld: certificate(caId, ids.renewed as string, orgId, at(5)),
          renewedNew: certificate(caId, ids.renewed as string, orgId, at(20)),
          paused: certificate(caId, ids.paused as string, orgId, at(3)),
          revoked: certificate(caId, ids.live as string, orgId, at(2), 'revoked'),
          far: certificate(caId, ids.far as string, orgId, at(90)),
        };
        await storage.db.insertInto('certificates').values(Object.values(certs)).execute();
        for (const [k, c] of Object.entries(certs)) ids[`cert:${k}`] = c.serial;
        await storage.db
          .insertInto('dynamic_registrations')
          .values({
            client_id: ids.renewed as string,
            org_id: orgId,
            software_id: ids.live as string,
            ssa_jti: 'ssa-jti-1',
            iat_id: null,
            registration_token_hash: 'x'.repeat(43),
            token_rotated_at: at(0),
            status: 'active',
            created_at: at(0),
            updated_at: at(0),
          })
          .execute();
        await storage.db
          .insertInto('federation_registrations')
          .values({
            client_id: ids.live as string,
            org_id: orgId,
            kind: 'automatic',
            trust_anchor: 'https://ta.example',
            authority_hint: 'https://ta.example',
            via_subordinate: 'https://rp.example',
            trust_mark_types: '[]',
            expires_at: at(1),
            resolved_at: at(0),
            status: 'ended',
            ended_reason: 'expired',
            created_at: at(0),
            updated_at: at(0),
          })
          .execute();
      });
      after(async () => {
        await storage?.close();
        await target.cleanup();
      });

      test('ok/overview: counts by status without deleted applications, pending requests, expiring', async () => {
        const counts = await directoryOverviewCounts(storage.db);
        assert.deepEqual(counts.organisations, { total: 3, active: 1, suspended: 1, offboarded: 1 });
        assert.deepEqual(counts.applications, { total: 4, active: 3, suspended: 1 });
        assert.equal(counts.pendingRoleRequests, 2);
        // Active certificates ending before the horizon, as the certificate list's expiring filter counts them.
        assert.equal(await countCertificates(storage.db, { status: 'active', notAfterBefore: at(30) }), 4);
        assert.equal(await countCertificates(storage.db, { status: 'active', notAfterBefore: at(4) }), 1);
        assert.deepEqual(await countRegistrationRecords(storage.db), { dynamic: 1, federation: 1 });
      });

      test('ok/expiring certificates: renewed, revoked and suspended are left out, each once', async () => {
        for (const limit of [1, 2, 100]) {
          const { items } = await walk(
            (page) => expiringPartnerCertificatesPage(storage.db, NOW, new Date(at(30)), page),
            limit,
          );
          assert.deepEqual(
            items.map((i) => i.id),
            [ids['cert:live10'], ids['cert:renewedNew']],
            `limit ${limit}`,
          );
        }
        const none = await expiringPartnerCertificatesPage(storage.db, NOW, new Date(at(1)), { limit: 10 });
        assert.deepEqual(none, { items: [], next_cursor: null });
      });

      test('ok/role holders: counts per role and a page walk that lists each grant once', async () => {
        const counts = await roleHolderCounts(storage.db, NOW);
        assert.deepEqual(counts, [
          { role: 'partner_reader', holders: 3, expired: 0 },
          { role: 'partner_writer', holders: 1, expired: 0 },
        ]);
        const { items } = await walk((page) => listRoleHoldersPage(storage.db, {}, page, NOW), 1);
        assert.equal(items.length, 4);
        assert.ok(!items.some((h) => h.client_id === ids.gone), 'a deleted application holds nothing');
        assert.equal(items.find((h) => h.client_id === ids.paused)?.status, 'suspended');
        assert.equal(items[0]?.organisation, 'Active Bank');
        const writers = await listRoleHoldersPage(storage.db, { role: 'partner_writer' }, { limit: 10 }, NOW);
        assert.deepEqual(
          writers.items.map((h) => h.client_id),
          [ids.renewed],
        );
      });
    });

    test('ok/inactive clients: every client once whatever PostgreSQL collation orders client ids by', {
      skip: target.name === 'postgres' ? false : 'PostgreSQL collations only',
    }, async () => {
      const storage = await seededStorage(target);
      try {
        // A linguistic collation orders `-`, `_` and letter case otherwise than code units do.
        for (const table of ['applications', 'client_activity']) {
          await sql`ALTER TABLE ${sql.table(table)} ALTER COLUMN client_id TYPE text COLLATE "en-x-icu"`.execute(
            storage.db,
          );
        }
        const orgId = await storage.transaction((tx) =>
          createOrganisation(tx, { name: 'Collation Bank' }, META),
        );
        const ids = ['cl_a', 'cl_B', 'cl_-c', 'cl__d', 'cl_E', 'cl_f-', 'cl_F', 'cl_0', 'cl_Z', 'cl_z'];
        const created = at(-60);
        await storage.db
          .insertInto('applications')
          .values(
            ids.map((client_id, i) => ({
              client_id,
              org_id: orgId,
              name: `collation ${i}`,
              name_key: `collation ${i}`,
              status: 'active' as const,
              auth_method: 'tls_client_auth' as const,
              registration_type: 'manual' as const,
              metadata: '{}',
              created_at: created,
              updated_at: created,
              environment: 'production' as const,
            })),
          )
          .execute();
        // Half were seen, all at one instant: both walks hold ties broken by client id alone.
        await storage.db
          .insertInto('client_activity')
          .values(
            ids
              .filter((_, i) => i % 2 === 0)
              .map((client_id) => ({
                client_id,
                org_id: orgId,
                last_seen_at: at(-50),
                last_allowed_at: null,
              })),
          )
          .execute();
        for (const limit of [1, 2, 3]) {
          const { items } = await walk(
            (page) => listInactiveClientsPage(storage.db, NOW, new Date(at(-30)), page),
            limit,
          );
          assert.deepEqual(
            items.map((c) => c.client_id),
            [...ids.filter((_, i) => i % 2 === 1).sort(), ...ids.filter((_, i) => i % 2 === 0).sort()],
            `limit ${limit}`,
          );
        }
      } finally {
        await storage.close();
        await target.cleanup();
      }
    });

    describe('100,000 applications', () => {
      let storage: Storage;
      const TOTAL = 100_000;
      const cutoff = new Date(at(-30));
      const expectedInactive = new Set<string>();
      let expectedHolders = 0;
      let expectedExpired = 0;

      before(async () => {
        storage = await seededStorage(target);
        const orgIds: string[] = [];
        for (let i = 0; i < 10; i++) {
          orgIds.push(
            await storage.transaction((tx) => createOrganisation(tx, { name: `Scale Bank ${i}` }, META)),
          );
        }
        for (let start = 0; start < TOTAL; start += 500) {
          const apps: Insertable<Database['applications']>[] = [];
          const grants: Insertable<Database['application_roles']>[] = [];
          const activity: Insertable<Database['client_activity']>[] = [];
          for (let i = start; i < start + 500; i++) {
            const clientId = `scale-${randomBytes(8).toString('hex')}`;
            // Every fifth is newer than the cutoff; many share a created_at (ties broken by client_id).
            const created =
              i % 5 === 0 ? at(-10) : new Date(Date.parse(at(-200)) + Math.floor(i / 7)).toISOString();
            const status = i % 10 === 3 ? ('suspended' as const) : ('active' as const);
            const name = `scale app ${i}`;
            apps.push({
              client_id: clientId,
              org_id: orgIds[i % 10] as string,
              name,
              name_key: name,
              status,
              auth_method: 'tls_client_auth',
              registration_type: 'manual',
              metadata: '{}',
              created_at: created,
              updated_at: created,
              environment: 'production',
            });
            if (i % 3 === 0) {
              const expired = i % 9 === 0;
              grants.push({
                client_id: clientId,
                role: 'partner_reader',
                expires_at: expired ? at(-1) : null,
              });
              expectedHolders++;
              if (expired) expectedExpired++;
            }
            let lastSeen: string | undefined;
            // Half were seen: a quarter recently, a quarter long ago (some at the same instant).
            if (i % 4 === 0) lastSeen = at(-1);
            if (i % 4 === 2)
              lastSeen = new Date(Date.parse(at(-100)) + Math.floor(i / 3) * 1000).toISOString();
            if (lastSeen)
              activity.push({
                client_id: clientId,
                org_id: null,
                last_seen_at: lastSeen,
                last_allowed_at: null,
              });
            const since = lastSeen ?? created;
            if (status === 'active' && since <= cutoff.toISOString()) expectedInactive.add(clientId);
          }
          await storage.transaction(async (tx) => {
            await tx.db.insertInto('applications').values(apps).execute();
            await tx.db.insertInto('application_roles').values(grants).execute();
            await tx.db.insertInto('client_activity').values(activity).execute();
          });
        }
        // Activity of applications no longer in the directory is never listed.
        await storage.db
          .insertInto('client_activity')
          .values(
            Array.from({ length: 50 }, (_, i) => ({
              client_id: `cl_removed_${i}`,
              org_id: null,
              last_seen_at: at(-300),
              last_allowed_at: null,
            })),
          )
          .execute();
      });
      after(async () => {
        await storage?.close();
        await target.cleanup();
      });

      test('ok/the overview answers with exact counts', async () => {
        const started = performance.now();
        const counts = await directoryOverviewCounts(storage.db);
        const ms = performance.now() - started;
        assert.deepEqual(counts.applications, { total: TOTAL, active: TOTAL * 0.9, suspended: TOTAL * 0.1 });
        assert.equal(counts.organisations.total, 10);
        console.log(`# ${target.name}: overview counts at ${TOTAL} applications in ${ms.toFixed(0)} ms`);
      });

      test('ok/role holders: the summary counts them, the walk lists each once', async () => {
        assert.deepEqual(await roleHolderCounts(storage.db, NOW), [
          { role: 'partner_reader', holders: expectedHolders, expired: expectedExpired },
        ]);
        const { items, pages } = await walk(
          (page) => listRoleHoldersPage(storage.db, { role: 'partner_reader' }, page, NOW),
          1000,
        );
        assert.equal(items.length, expectedHolders);
        assert.equal(new Set(items.map((h) => h.client_id)).size, expectedHolders);
        assert.equal(items.filter((h) => h.expired).length, expectedExpired);
        assert.ok(pages > 30);
      });

      test('ok/inactive clients: the merged walk lists every silent active client once, in order', async () => {
        const started = performance.now();
        const { items, pages } = await walk(
          (page) => listInactiveClientsPage(storage.db, NOW, cutoff, page),
          1000,
        );
        const ms = performance.now() - started;
        const listed = items.map((c) => c.client_id);
        assert.equal(new Set(listed).size, listed.length, 'no client twice');
        assert.equal(listed.length, expectedInactive.size);
        for (const id of listed) assert.ok(expectedInactive.has(id), `${id} is not inactive`);
        const keys = items.map((c) => [c.last_seen_at ?? c.created_at, c.client_id] as const);
        for (let i = 1; i < keys.length; i++) {
          const [a, b] = [keys[i - 1], keys[i]] as [readonly [string, string], readonly [string, string]];
          assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `out of order at ${i}`);
        }
        assert.ok(items.some((c) => c.last_seen_at === null) && items.some((c) => c.last_seen_at !== null));
        assert.ok(items.every((c) => c.days_without_traffic >= 30));
        console.log(
          `# ${target.name}: ${listed.length} inactive clients in ${pages} pages, ${(ms / pages).toFixed(1)} ms a page`,
        );
      });
    });
  });
}
