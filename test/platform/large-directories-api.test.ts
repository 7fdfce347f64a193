import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  createOrganisation,
  type ImportBatchError,
  type ImportOrganisation,
  writeImport,
} from '../../src/directory/index.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { encodeCursor } from '../../src/shared/page-cursor.ts';
import {
  type ApiAnswer,
  type ConsolePlatform,
  call,
  makeMember,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from '../console/support/console-platform.ts';
import { engineTargets } from '../support/engines.ts';

const MAX_BYTES = 200_000;
const ndjson = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
const partner = (i: number, apps = 3) => ({
  external_ref: `crm-${i}`,
  name: `Imported Partner ${i}`,
  roles: ['partner_reader', 'partner_writer'],
  contacts: [{ kind: 'technical', name: `Tech ${i}`, email: `tech${i}@partner${i}.example` }],
  applications: Array.from({ length: apps }, (_, a) => ({
    external_ref: `crm-${i}-app-${a}`,
    name: `Partner ${i} app ${a}`,
    roles: a === 0 ? ['partner_reader'] : [],
    environment: a === 2 ? 'sandbox' : 'production',
  })),
});

const targets = await engineTargets();

for (const target of targets) {
  describe(`large directories over HTTP: pages, filters, bulk import: ${target.name}`, {
    skip: target.skip,
  }, () => {
    let cp: ConsolePlatform;
    let operator: TestSession;
    const importNd = (body: string, query = '') =>
      call(cp, operator, 'POST', `/admin/v1/import${query}`, body, {
        'content-type': 'application/x-ndjson',
      });
    const countOf = async (path: string) => {
      let n = 0;
      let cursor: string | null = null;
      do {
        const page: ApiAnswer = await call(
          cp,
          operator,
          'GET',
          `${path}${path.includes('?') ? '&' : '?'}limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, page.text);
        n += page.json.items.length;
        cursor = page.json.next_cursor;
      } while (cursor);
      return n;
    };

    before(async () => {
      const options = target.freshOptions();
      cp = await startConsolePlatform({
        ACCREDIT_IMPORT_MAX_BYTES: String(MAX_BYTES),
        ...(target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema ?? '' }
          : {}),
      });
      operator = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    });
    after(async () => {
      await cp?.stop();
      await target.cleanup();
    });

    test('fail/an import with findings reports every one and writes nothing (dry run and real)', async () => {
      const body = [
        ndjson([partner(900), { ...partner(901), roles: ['no_such_role'] }]),
        '{not json\n',
        ndjson([
          { ...partner(902), name: 'Imported Partner 900' },
          { ...partner(900), name: 'Another' },
          {
            ...partner(903),
            surprise: 1,
            applications: [
              { external_ref: 'x', name: 'A', auth_method: 'client_secret_basic' },
              { external_ref: 'x', name: 'a', environment: 'staging' },
            ],
          },
          ['not', 'an', 'object'],
        ]),
      ].join('');
      const dry = await importNd(body, '?dry_run=true');
      assert.equal(dry.status, 200, dry.text);
      assert.equal(dry.json.valid, false);
      assert.equal(dry.json.records, 7);
      const has = (record: number, field: string, code: string) =>
        assert.ok(
          dry.json.findings.some(
            (f: { record: number; field: string; code: string }) =>
              f.record === record && f.field === field && f.code === code,
          ),
          `record ${record} ${field} ${code}: ${JSON.stringify(dry.json.findings)}`,
        );
      has(2, 'roles', 'invalid_input');
      has(3, '', 'invalid_json');
      has(4, 'name', 'duplicate');
      has(5, 'external_ref', 'duplicate');
      has(6, 'surprise', 'invalid_input');
      has(6, 'applications[0].auth_method', 'invalid_input');
      has(6, 'applications[1].external_ref', 'duplicate');
      has(6, 'applications[1].name', 'duplicate');
      has(6, 'applications[1].environment', 'invalid_input');
      has(7, '', 'invalid_record');
      assert.equal(dry.json.findings_total, dry.json.findings.length);

      const real = await importNd(body);
      assert.equal(real.status, 400);
      assert.match(String(real.headers['content-type']), /application\/problem\+json/);
      assert.equal(real.json.code, 'import_invalid');
      assert.equal(real.json.errors.length, dry.json.findings_total);
      assert.equal(await countOf('/admin/v1/organisations?name_prefix=Imported'), 0, 'nothing written');
    });

    test('ok/an import writes in audited batches; a re-run skips everything; an added app is added', async () => {
      const records = Array.from({ length: 30 }, (_, i) => partner(i));
      const dry = await importNd(ndjson(records), '?dry_run=true');
      assert.equal(dry.status, 200, dry.text);
      assert.deepEqual(dry.json.summary, {
        organisations: { create: 30, existing: 0 },
        applications: { create: 90, existing: 0 },
      });
      assert.equal(
        await countOf('/admin/v1/organisations?name_prefix=Imported'),
        0,
        'a dry run writes nothing',
      );

      const first = await importNd(ndjson(records), '?batch_size=7');
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.batches.length, 5);
      assert.equal(
        first.json.batches.reduce(
          (n: number, b: { applications_created: number }) => n + b.applications_created,
          0,
        ),
        90,
      );
      assert.equal(await countOf('/admin/v1/organisations?name_prefix=imported partner'), 30);
      const audit = await listAuditEvents(cp.platform.storage.db, { after: 0, limit: 100_000 });
      const batches = audit.filter(
        (e) => e.action === 'import.batch' && e.target_id === first.json.import_id,
      );
      assert.equal(batches.length, 5, 'one audit entry per batch');

      // JSON array form, the same records: everything exists.
      const again = await call(cp, operator, 'POST', '/admin/v1/import', records);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json.summary, {
        organisations: { create: 0, existing: 30 },
        applications: { create: 0, existing: 90 },
      });
      assert.equal(again.json.batches[0].organisations_skipped, 30);
      assert.equal(await countOf('/admin/v1/organisations?name_prefix=imported partner'), 30);

      const grown = records.map((r, i) => (i === 4 ? partner(4, 4) : r));
      const third = await importNd(ndjson(grown));
      assert.equal(third.status, 200, third.text);
      assert.deepEqual(third.json.summary.applications, { create: 1, existing: 90 });

      const org4 = (
        await call(cp, operator, 'GET', '/admin/v1/organisations?name_prefix=Imported Partner 4&limit=1')
      ).json.items[0];
      const apps = await call(cp, operator, 'GET', `/admin/v1/applications?org_id=${org4.id}`);
      assert.deepEqual(apps.json.items.map((a: { name: string }) => a.name).sort(), [
        'Partner 4 app 0',
        'Partner 4 app 1',
        'Partner 4 app 2',
        'Partner 4 app 3',
      ]);
      assert.deepEqual(apps.json.items.find((a: { name: string }) => a.name === 'Partner 4 app 0').roles, [
        'partner_reader',
      ]);
      const sandbox = await call(
        cp,
        operator,
        'GET',
        `/admin/v1/applications?org_id=${org4.id}&environment=sandbox`,
      );
      assert.deepEqual(
        sandbox.json.items.map((a: { name: string }) => a.name),
        ['Partner 4 app 2'],
      );
    });

    test('fail/a batch that fails is rolled back whole; earlier batches stay; a re-run finishes', async () => {
      const storage = cp.platform.storage;
      await storage.transaction((tx) =>
        createOrganisation(tx, { name: 'Taken Name Ltd' }, { actor: 'operator:test', now: new Date() }),
      );
      const records: ImportOrganisation[] = Array.from({ length: 6 }, (_, i) => ({
        external_ref: `batch-${i}`,
        name: i === 4 ? 'Taken Name Ltd' : `Batch Partner ${i}`,
        applications: [{ external_ref: `batch-${i}-a`, name: 'Only app' }],
      }));
      const meta = { actor: 'operator:test', now: new Date(), importId: 'test-import', batchSize: 3 };
      await assert.rejects(writeImport(storage, records, meta), (err: ImportBatchError) => {
        assert.equal(err.code, 'import_batch_failed');
        assert.equal(err.details.batch, 2);
        assert.equal(err.details.record, 5);
        assert.equal(err.details.batches_committed, 1);
        return true;
      });
      assert.equal(await countOf('/admin/v1/organisations?name_prefix=batch partner'), 3, 'batch 1 only');
      const fourth = await call(cp, operator, 'GET', '/admin/v1/organisations?name_prefix=Batch Partner 3');
      assert.deepEqual(fourth.json.items, [], 'the valid record of the failed batch was rolled back too');

      records[4] = { ...(records[4] as ImportOrganisation), name: 'Batch Partner 4' };
      const done = await writeImport(storage, records, meta);
      assert.deepEqual(
        done.map((b) => [b.organisations_skipped, b.organisations_created, b.applications_created]),
        [
          [3, 0, 0],
          [0, 3, 3],
        ],
      );
      assert.equal(await countOf('/admin/v1/organisations?name_prefix=batch partner'), 6);
    });

    test('fail/an import larger than import.maxBytes is a 413 problem', async () => {
      const big = ndjson(Array.from({ length: 400 }, (_, i) => partner(5000 + i)));
      assert.ok(big.length > MAX_BYTES);
      const r = await importNd(big);
      assert.equal(r.status, 413, r.text);
      assert.equal(r.json.code, 'body_too_large');
      const arr = await call(
        cp,
        operator,
        'POST',
        '/admin/v1/import',
        JSON.parse(`[${big.trim().split('\n').join(',')}]`),
      );
      assert.equal(arr.status, 413, arr.text);
      const empty = await importNd('\n\n');
      assert.equal(empty.status, 400);
      assert.equal(empty.json.code, 'invalid_input');
      const auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
      const refused = await call(cp, auditor, 'POST', '/admin/v1/import', [partner(7000)]);
      assert.equal(refused.status, 403);
    });

    test('fail/import.maxBytes out of range is a configuration error naming it', () => {
      for (const bad of ['10', 'lots', '-5']) {
        assert.throws(
          () => loadConfig(cp.dataDir, { ACCREDIT_IMPORT_MAX_BYTES: bad }),
          /ACCREDIT_IMPORT_MAX_BYTES/,
        );
      }
      assert.equal(loadConfig(cp.dataDir, { ACCREDIT_IMPORT_MAX_BYTES: '5000' }).import?.maxBytes, 5000);
    });

    test('fail/bad cursors and limits are 400 problems on every paged list', async () => {
      for (const path of [
        '/admin/v1/applications',
        '/admin/v1/organisations',
        '/admin/v1/certificates',
        '/admin/v1/role-requests',
      ]) {
        for (const query of [
          'cursor=%21%21',
          `cursor=${encodeCursor(['only-one'])}`,
          'limit=0',
          'limit=1001',
          'limit=abc',
        ]) {
          const r = await call(cp, operator, 'GET', `${path}?${query}`);
          assert.equal(r.status, 400, `${path}?${query}: ${r.text}`);
          assert.match(String(r.headers['content-type']), /application\/problem\+json/);
          assert.ok(['invalid_cursor', 'invalid_input'].includes(r.json.code), r.text);
        }
      }
      for (const path of ['/admin/v1/audit', '/admin/v1/events']) {
        for (const cursor of ['%21%21', encodeCursor(['not-a-seq']), encodeCursor([1, 2])]) {
          const r = await call(cp, operator, 'GET', `${path}?cursor=${cursor}`);
          assert.equal(r.status, 400, `${path}?cursor=${cursor}: ${r.text}`);
          assert.equal(r.json.code, 'invalid_cursor');
        }
      }
      // The audit log pages by sequence number behind the same opaque cursor.
      const audit1 = await call(cp, operator, 'GET', '/admin/v1/audit?limit=3');
      assert.equal(audit1.json.items.length, 3);
      const audit2 = await call(
        cp,
        operator,
        'GET',
        `/admin/v1/audit?limit=3&cursor=${audit1.json.next_cursor}`,
      );
      assert.equal(audit2.json.items[0].seq, audit1.json.items[2].seq + 1);
      const newest = await call(cp, operator, 'GET', '/admin/v1/audit?limit=2&order=desc');
      const older = await call(
        cp,
        operator,
        'GET',
        `/admin/v1/audit?limit=2&order=desc&cursor=${newest.json.next_cursor}`,
      );
      assert.ok(older.json.items[0].seq < newest.json.items[1].seq);
      const events = await call(cp, operator, 'GET', '/admin/v1/events?limit=1000');
      assert.equal(events.status, 200);
      assert.ok('next_cursor' in events.json);
      const more = await importNd(ndjson([partner(8000, 10)]));
      assert.equal(more.status, 200, more.text);
      const one = await call(cp, operator, 'GET', '/admin/v1/applications?limit=1');
      assert.equal(one.json.items.length, 1);
      assert.equal(typeof one.json.next_cursor, 'string');
      const defaulted = await call(cp, operator, 'GET', '/admin/v1/applications');
      assert.equal(defaulted.json.items.length, 100, 'the default page is 100');
      assert.equal(typeof defaulted.json.next_cursor, 'string');
    });

    test('ok/registrations page newest first across both kinds, each once', async () => {
      const org = (
        await call(cp, operator, 'GET', '/admin/v1/organisations?name_prefix=Imported Partner 8000')
      ).json.items[0];
      const apps = (await call(cp, operator, 'GET', `/admin/v1/applications?org_id=${org.id}`)).json
        .items as Array<{
        client_id: string;
      }>;
      const ids = apps.map((a) => a.client_id);
      const at = (i: number) => `2026-02-0${1 + Math.floor(i / 2)}T00:00:00.000Z`;
      const rows = Array.from({ length: 7 }, (_, i) => ({
        client_id: ids[i + 1] as string,
        org_id: org.id,
        software_id: ids[0] as string,
        ssa_jti: `jti-${i}`,
        iat_id: null,
        registration_token_hash: `h${i}`,
        token_rotated_at: at(i),
        status: 'active' as const,
        created_at: at(i),
        updated_at: at(i),
      }));
      await cp.platform.storage.db.insertInto('dynamic_registrations').values(rows).execute();
      const seen: Array<{ client_id: string; created_at: string; org_name: string }> = [];
      let cursor: string | null = null;
      do {
        const page: ApiAnswer = await call(
          cp,
          operator,
          'GET',
          `/admin/v1/registrations?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, page.text);
        assert.ok(page.json.items.length <= 2);
        seen.push(...page.json.items);
        cursor = page.json.next_cursor;
      } while (cursor);
      const byAge = rows
        .map((r) => [r.created_at, r.client_id] as const)
        .sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? 1 : -1) : a[1] < b[1] ? 1 : -1))
        .map(([, id]) => id);
      assert.deepEqual(
        seen.map((r) => r.client_id),
        byAge,
        'newest first, ties by client_id, each once',
      );
      assert.equal(seen[0]?.org_name, org.name);
      const bad = await call(cp, operator, 'GET', `/admin/v1/registrations?cursor=${encodeCursor([1])}`);
      assert.equal(bad.status, 400);
    });

    test('ok/partner pages hold the organisation’s rows only, whatever the cursor', async () => {
      const orgs = (
        await call(cp, operator, 'GET', '/admin/v1/organisations?name_prefix=Imported Partner 1&limit=2')
      ).json.items as Array<{ id: string }>;
      const [mine, theirs] = orgs as [{ id: string }, { id: string }];
      const member = await sessionFor(cp, await makeMember(cp, mine.id, 'viewer'));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: ApiAnswer = await call(
          cp,
          member,
          'GET',
          `/partner/v1/organisations/${mine.id}/applications?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, page.text);
        for (const app of page.json.items) assert.equal(app.org_id, mine.id);
        seen.push(...page.json.items.map((a: { client_id: string }) => a.client_id));
        cursor = page.json.next_cursor;
      } while (cursor);
      assert.equal(seen.length, 3);
      const other = await call(cp, operator, 'GET', `/admin/v1/applications?org_id=${theirs.id}&limit=1`);
      const foreign = await call(
        cp,
        member,
        'GET',
        `/partner/v1/organisations/${theirs.id}/applications?cursor=${other.json.next_cursor}`,
      );
      assert.ok(
        [403, 404].includes(foreign.status),
        'another organisation’s list stays closed, cursor or not',
      );
      assert.equal(foreign.json.items, undefined);
      const bad = await call(
        cp,
        member,
        'GET',
        `/partner/v1/organisations/${mine.id}/applications?cursor=zz%3D`,
      );
      assert.equal(bad.status, 400);
    });
  });
}
