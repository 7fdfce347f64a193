import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Insertable } from 'kysely';
import {
  createOrganisation,
  type ImportBatchError,
  type ImportOrganisation,
  ImportValidator,
  listApplicationsPage,
  listOrganisationsPage,
  writeImport,
} from '../../src/directory/index.ts';
import { DEFAULT_PAGE_LIMIT, decodeCursor, encodeCursor, pageRequest } from '../../src/shared/page-cursor.ts';
import type { Database, Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const TOTAL = 100_000;
const ORGS = 10;

/**
 * 100,000 applications written in batches of 500 rows per statement (the seed path a test may take: the
 * directory's own create runs validation, feed and audit per row, which is the import's job, tested there).
 */
async function seedApplications(storage: Storage, orgIds: string[], count: number, prefix: string) {
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  for (let start = 0; start < count; start += 500) {
    const rows: Insertable<Database['applications']>[] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      // Many rows share a created_at (every 7 in a row): ties are broken by client_id.
      const at = new Date(base + Math.floor(i / 7)).toISOString();
      const name = `${prefix} app ${String(i).padStart(6, '0')}`;
      rows.push({
        client_id: `${prefix}-${randomBytes(8).toString('hex')}`,
        org_id: orgIds[i % orgIds.length] as string,
        name,
        name_key: name.toLowerCase(),
        status: i % 10 === 3 ? ('suspended' as const) : ('active' as const),
        auth_method: 'tls_client_auth' as const,
        registration_type: 'manual' as const,
        metadata: '{}',
        created_at: at,
        updated_at: at,
        environment: i % 4 === 0 ? ('sandbox' as const) : ('production' as const),
      });
    }
    await storage.transaction((tx) => tx.db.insertInto('applications').values(rows).execute());
  }
}

for (const target of targets) {
  describe(`large directories: ${target.name}`, { skip: target.skip }, () => {
    let storage: Storage;
    const orgIds: string[] = [];

    before(async () => {
      storage = await seededStorage(target);
      for (let i = 0; i < ORGS; i++) {
        orgIds.push(
          await storage.transaction((tx) => createOrganisation(tx, { name: `Partner ${i} Bank` }, META)),
        );
      }
      await seedApplications(storage, orgIds, TOTAL, 'seed');
    });
    after(async () => {
      await storage?.close();
      await target.cleanup();
    });

    test('ok/pages of 1000 cover 100,000 applications exactly once while others are inserted', async () => {
      const seen = new Set<string>();
      let cursor: string | null | undefined;
      let pages = 0;
      let inserted = 0;
      do {
        const page = await listApplicationsPage(
          storage.db,
          {},
          pageRequest({ limit: 1000, cursor: cursor ?? undefined }, 2),
        );
        for (const app of page.items) {
          assert.ok(!seen.has(app.client_id), `${app.client_id} listed twice`);
          seen.add(app.client_id);
        }
        assert.ok(page.items.length <= 1000);
        cursor = page.next_cursor;
        pages++;
        // Concurrent writers: new applications (some before the cursor, some after) between pages.
        if (pages % 20 === 0) {
          await seedApplications(storage, orgIds, 30, `late${pages}`);
          inserted += 30;
        }
      } while (cursor);
      const seeded = [...seen].filter((id) => id.startsWith('seed-')).length;
      assert.equal(seeded, TOTAL, 'every seeded application once');
      assert.ok(seen.size >= TOTAL && seen.size <= TOTAL + inserted);
      assert.ok(pages >= 100);
    });

    test('ok/filters: organisation, environment, status and name prefix, paged', async () => {
      const orgId = orgIds[2] as string;
      let cursor: string | null = null;
      let count = 0;
      do {
        const page: Awaited<ReturnType<typeof listApplicationsPage>> = await listApplicationsPage(
          storage.db,
          { orgId, environment: 'production', status: 'active' },
          pageRequest({ limit: 1000, cursor: cursor ?? undefined }, 2),
        );
        for (const app of page.items) {
          assert.equal(app.org_id, orgId, 'another organisation’s row never appears');
          assert.equal(app.environment, 'production');
          assert.equal(app.status, 'active');
        }
        count += page.items.filter((a) => a.client_id.startsWith('seed-')).length;
        cursor = page.next_cursor;
      } while (cursor);
      let expected = 0;
      for (let i = 0; i < TOTAL; i++) if (i % ORGS === 2 && i % 4 !== 0) expected++;
      assert.equal(count, expected);
      assert.ok(expected > 1000, 'the filtered list spans several pages');
      const suspended = await listApplicationsPage(
        storage.db,
        { orgId: orgIds[3], status: 'suspended' },
        { limit: 1 },
      );
      assert.equal(suspended.items[0]?.status, 'suspended');
      const none = await listApplicationsPage(
        storage.db,
        { orgId: orgIds[3], status: 'active' },
        { limit: 1 },
      );
      assert.deepEqual(none.items, [], 'every application of organisation 3 is suspended');

      const named = await listApplicationsPage(storage.db, { namePrefix: 'SEED APP 00012' }, { limit: 50 });
      assert.deepEqual(
        named.items.map((a) => a.name).sort(),
        Array.from({ length: 10 }, (_, d) => `seed app 00012${d}`),
      );
      assert.equal(named.next_cursor, null);
      // LIKE wildcards in a prefix are literal.
      const wild = await listApplicationsPage(storage.db, { namePrefix: 'seed%' }, { limit: 5 });
      assert.equal(wild.items.length, 0);
    });

    test('ok/a cursor of one organisation never reveals another’s rows', async () => {
      const first = await listApplicationsPage(storage.db, { orgId: orgIds[0] }, { limit: 5 });
      assert.ok(first.next_cursor);
      const other = await listApplicationsPage(
        storage.db,
        { orgId: orgIds[1] },
        pageRequest({ limit: 5, cursor: first.next_cursor }, 2),
      );
      assert.ok(other.items.length > 0);
      for (const app of other.items) assert.equal(app.org_id, orgIds[1]);
    });

    test('ok/organisations page by (created_at, id); default limit is 100', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof listOrganisationsPage>> = await listOrganisationsPage(
          storage.db,
          {},
          pageRequest({ limit: 3, cursor: cursor ?? undefined }, 2),
        );
        seen.push(...page.items.map((o) => o.id));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual([...seen].sort(), [...orgIds].sort());
      assert.equal(new Set(seen).size, ORGS);
      assert.equal(pageRequest({}, 2).limit, DEFAULT_PAGE_LIMIT);
      const prefixed = await listOrganisationsPage(storage.db, { namePrefix: 'partner 7' }, { limit: 10 });
      assert.deepEqual(
        prefixed.items.map((o) => o.name),
        ['Partner 7 Bank'],
      );
    });

    test('fail/import: a failing batch is rolled back whole, earlier ones stay, a re-run finishes', async () => {
      const records: ImportOrganisation[] = Array.from({ length: 5 }, (_, i) => ({
        external_ref: `imp-${i}`,
        name: i === 3 ? 'Partner 1 Bank' : `Imported ${i}`,
        applications: [
          { external_ref: 'a', name: 'Payments', roles: ['partner_reader'] },
          { external_ref: 'b', name: 'Reports' },
        ],
      }));
      // The validator finds the name taken in the directory before anything is written…
      const validator = await ImportValidator.open(storage.db, META.now);
      for (const r of records) validator.add(r);
      assert.equal(validator.findingsTotal, 0);
      await validator.checkDirectory(storage.db);
      assert.deepEqual(
        validator.findings.map((f) => [f.record, f.field, f.code]),
        [[4, 'name', 'conflict']],
      );
      // …and the writer, given the records anyway, rolls back the batch that holds it, whole.
      const meta = { ...META, importId: 'imp', batchSize: 2 };
      await assert.rejects(
        writeImport(storage, records, meta),
        (err: ImportBatchError) => err.code === 'import_batch_failed' && err.details.batches_committed === 1,
      );
      const imported = async () =>
        (await listOrganisationsPage(storage.db, { namePrefix: 'Imported' }, { limit: 100 })).items
          .map((o) => o.name)
          .sort();
      assert.deepEqual(await imported(), ['Imported 0', 'Imported 1'], 'Imported 2 was rolled back with 3');
      const apps = await listApplicationsPage(storage.db, { namePrefix: 'reports' }, { limit: 100 });
      assert.equal(apps.items.length, 2, 'only the committed batch’s applications');

      records[3] = { ...(records[3] as ImportOrganisation), name: 'Imported 3' };
      const done = await writeImport(storage, records, meta);
      assert.deepEqual(
        done.map((b) => [b.organisations_skipped, b.organisations_created, b.applications_created]),
        [
          [2, 0, 0],
          [0, 2, 4],
          [0, 1, 2],
        ],
      );
      assert.deepEqual(await imported(), [
        'Imported 0',
        'Imported 1',
        'Imported 2',
        'Imported 3',
        'Imported 4',
      ]);
      const rerun = await writeImport(storage, records, meta);
      assert.equal(
        rerun.reduce((n, b) => n + b.organisations_created + b.applications_created, 0),
        0,
      );
    });

    test('fail/bad cursors and limits are 400 problems, never a crash', () => {
      for (const bad of [
        '',
        '!!!',
        'e30',
        encodeCursor(['a']),
        encodeCursor(['a', 'b', 'c']),
        'x'.repeat(2000),
      ]) {
        assert.throws(
          () => pageRequest({ cursor: bad }, 2),
          (err: { status?: number; code?: string }) => err.status === 400 && err.code === 'invalid_cursor',
          bad,
        );
      }
      assert.throws(
        () => decodeCursor(Buffer.from('{"a":1}').toString('base64url'), 1),
        (err: { status?: number }) => err.status === 400,
      );
      for (const limit of [0, 1001, 1.5, -1]) {
        assert.throws(
          () => pageRequest({ limit }, 2),
          (err: { status?: number; code?: string }) => err.status === 400 && err.code === 'invalid_input',
        );
      }
      assert.deepEqual(decodeCursor(encodeCursor(['2026-01-01T00:00:00.000Z', 'x']), 2), [
        '2026-01-01T00:00:00.000Z',
        'x',
      ]);
    });
  });
}
