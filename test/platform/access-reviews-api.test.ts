// Issue 16 over HTTP, on SQLite and PostgreSQL: the operator overview's counts, and the access-review summary
// and its four paged sections walked a page at a time through the admin API (read in the list worker), with
// the rejections — bad days, limits and cursors, callers that are not operators.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createApplication,
  createOrganisation,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
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

const DAY_MS = 86_400_000;
const targets = await engineTargets();

for (const target of targets) {
  describe(`operator overview and access reviews over HTTP: ${target.name}`, { skip: target.skip }, () => {
    let cp: ConsolePlatform;
    let auditor: TestSession;
    let member: TestSession;
    const idle: string[] = [];
    const fresh: string[] = [];
    let suspendedApp = '';

    const walk = async (path: string, limit: number) => {
      const items: Array<Record<string, unknown>> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const page: ApiAnswer = await call(
          cp,
          auditor,
          'GET',
          `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, page.text);
        assert.ok(page.json.items.length <= limit);
        items.push(...page.json.items);
        cursor = page.json.next_cursor;
        pages++;
      } while (cursor);
      return { items, pages };
    };

    before(async () => {
      const options = target.freshOptions();
      cp = await startConsolePlatform(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema ?? '' }
          : {},
      );
      auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
      const storage = cp.platform.storage;
      const meta = { actor: 'operator:test', now: new Date() };
      const [bank, paused] = await Promise.all(
        ['Review Bank', 'Paused Bank'].map((name) =>
          storage.transaction((tx) => createOrganisation(tx, { name }, meta)),
        ),
      );
      await storage.transaction((tx) => setOrganisationStatus(tx, paused as string, 'suspended', meta));
      member = await sessionFor(cp, await makeMember(cp, bank as string, 'org_admin'));
      for (let i = 0; i < 7; i++) {
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId: bank as string,
              name: `Review app ${i}`,
              roles: ['partner_reader'],
              authMethod: 'tls_client_auth',
            },
            meta,
          ),
        );
        (i < 5 ? idle : fresh).push(clientId);
      }
      // Five were created 40 days ago; two of those were last seen 35 days ago, one of them is suspended.
      const old = new Date(Date.now() - 40 * DAY_MS).toISOString();
      await storage.db
        .updateTable('applications')
        .set({ created_at: old })
        .where('client_id', 'in', idle)
        .execute();
      await storage.db
        .insertInto('client_activity')
        .values(
          idle.slice(0, 2).map((client_id) => ({
            client_id,
            org_id: bank as string,
            last_seen_at: new Date(Date.now() - 35 * DAY_MS).toISOString(),
            last_allowed_at: null,
          })),
        )
        .execute();
      suspendedApp = idle[4] as string;
      await storage.transaction((tx) => setApplicationStatus(tx, suspendedApp, 'suspended', meta));
    });
    after(async () => {
      await cp?.stop();
      await target.cleanup();
    });

    test('ok/overview: organisations and applications by status, exact', async () => {
      const res = await call(cp, auditor, 'GET', '/admin/v1/overview?expiring_within_days=10');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.organisations, { total: 2, active: 1, suspended: 1 });
      assert.deepEqual(res.json.applications, { total: 7, active: 6, suspended: 1 });
      assert.equal(res.json.pending_role_requests, 0);
      assert.equal(res.json.expiring_within_days, 10);
      assert.equal(res.json.certificates_expiring, 0);
      assert.deepEqual(res.json.registrations, { total: 0, dynamic: 0, federation: 0 });
    });

    test('ok/access reviews: every section walked a page at a time lists each item once', async () => {
      const summary = await call(cp, auditor, 'GET', '/admin/v1/access-reviews');
      assert.equal(summary.status, 200, summary.text);
      assert.deepEqual(summary.json.roles, [{ role: 'partner_reader', holders: 7, expired: 0 }]);
      assert.equal(summary.json.operators, 1);

      const inactive = await walk('/admin/v1/access-reviews/inactive-clients?inactive_days=30', 1);
      const ids = inactive.items.map((c) => c.client_id as string);
      // Longest silent first: the two never seen (40 days; the suspended one is left out), then the two seen 35 days ago.
      assert.deepEqual(new Set(ids), new Set(idle.filter((id) => id !== suspendedApp)));
      assert.equal(ids.length, 4);
      assert.deepEqual(
        inactive.items.map((c) => c.last_seen_at === null),
        [true, true, false, false],
      );
      assert.ok(inactive.items.every((c) => (c.days_without_traffic as number) >= 35));
      const within36 = await walk('/admin/v1/access-reviews/inactive-clients?inactive_days=36', 100);
      assert.deepEqual(new Set(within36.items.map((c) => c.client_id)), new Set(idle.slice(2, 4)));

      const holders = await walk('/admin/v1/access-reviews/role-holders', 2);
      assert.equal(holders.items.length, 7);
      assert.equal(holders.pages, 4);
      assert.equal(new Set(holders.items.map((h) => h.client_id)).size, 7);
      assert.equal(holders.items.find((h) => h.client_id === suspendedApp)?.status, 'suspended');
      const none = await call(
        cp,
        auditor,
        'GET',
        '/admin/v1/access-reviews/role-holders?role=partner_writer',
      );
      assert.deepEqual(none.json.items, []);

      const operators = await walk('/admin/v1/access-reviews/operators', 1);
      assert.equal(operators.items.length, 1);
      assert.equal(operators.items[0]?.account_id, auditor.accountId);
      assert.equal(operators.items[0]?.role, 'auditor');

      const expiring = await walk('/admin/v1/access-reviews/expiring-certificates?expiring_days=3650', 10);
      assert.deepEqual(expiring.items, []);
    });

    test('fail/bad days, limits and cursors are 400 problems; only operators read reviews', async () => {
      const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
      for (const path of [
        '/admin/v1/access-reviews/inactive-clients?inactive_days=0',
        '/admin/v1/access-reviews/inactive-clients?inactive_days=3651',
        '/admin/v1/access-reviews/expiring-certificates?expiring_days=99999',
        '/admin/v1/access-reviews/role-holders?limit=1001',
        '/admin/v1/access-reviews/role-holders?role=',
        `/admin/v1/access-reviews/inactive-clients?cursor=${cursorOf(['2026-01-01', 'a', 'b'])}`,
        `/admin/v1/access-reviews/expiring-certificates?cursor=${cursorOf([{}, 'a'])}`,
        '/admin/v1/access-reviews/operators?cursor=%24%24',
        '/admin/v1/overview?expiring_within_days=-3',
      ]) {
        const res = await call(cp, auditor, 'GET', path);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.match(String(res.headers['content-type']), /application\/problem\+json/, path);
      }
      for (const path of [
        '/admin/v1/overview',
        '/admin/v1/access-reviews',
        '/admin/v1/access-reviews/role-holders',
        '/admin/v1/access-reviews/operators',
        '/admin/v1/access-reviews/inactive-clients',
        '/admin/v1/access-reviews/expiring-certificates',
      ]) {
        assert.equal((await call(cp, undefined, 'GET', path)).status, 401, path);
        assert.equal((await call(cp, member, 'GET', path)).status, 401, `${path}: a partner member`);
      }
    });
  });
}
