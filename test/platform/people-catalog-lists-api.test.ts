// Issue 16: cursor pages and filters on the "people and catalog" lists — users, consents, invitations, members,
// operator accounts, test-plan runs, catalog scopes/roles/resources and catalog revisions — over HTTP, on
// SQLite and on PostgreSQL: every page walk visits each row exactly once, filters narrow, bad cursors and
// limits are 400 problems.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { accountStore, grantStore } from '../../src/authorization-server/index.ts';
import { putMember, recordTestplanRun } from '../../src/directory/index.ts';
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

// biome-ignore lint/suspicious/noExplicitAny: test convenience (rows as the API answered them).
type Row = any;

const targets = await engineTargets();

for (const target of targets) {
  describe(`people and catalog lists: pages and filters: ${target.name}`, {
    skip: target.skip,
    timeout: 300_000,
  }, () => {
    let cp: ConsolePlatform;
    let operator: TestSession;
    let orgA: string;
    let orgB: string;
    let orgAdmin: TestSession;

    /**
     * Walks a list `limit` rows at a time: every page has at most `limit` rows, only the last has no
     * next_cursor, and no row is seen twice. Returns the rows in order.
     */
    async function walk(
      session: TestSession,
      path: string,
      limit: number,
      key = 'items',
      id = 'id',
    ): Promise<Row[]> {
      const rows: Row[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const page: ApiAnswer = await call(
          cp,
          session,
          'GET',
          `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, `${path}: ${page.text}`);
        assert.ok(Array.isArray(page.json[key]), page.text);
        assert.ok(page.json[key].length <= limit, `${path}: page longer than ${limit}`);
        assert.ok('next_cursor' in page.json, page.text);
        rows.push(...page.json[key]);
        cursor = page.json.next_cursor;
        if (cursor) assert.equal(page.json[key].length, limit, 'only the last page may be short');
        assert.ok(++pages < 1000, 'the walk ends');
      } while (cursor);
      const ids = rows.map((r) => r[id]);
      assert.equal(new Set(ids).size, ids.length, `${path}: a row was repeated: ${ids.join(' ')}`);
      return rows;
    }
    const ok = async (session: TestSession, method: string, path: string, body?: unknown) => {
      const r = await call(cp, session, method, path, body);
      assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
      return r.json;
    };

    before(async () => {
      const options = target.freshOptions();
      cp = await startConsolePlatform(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema ?? '' }
          : {},
      );
      operator = await sessionFor(cp, await makeOperator(cp, 'administrator', 'root-operator'));
      orgA = (await ok(operator, 'POST', '/admin/v1/organisations', { name: 'Paging Bank A' })).id;
      orgB = (await ok(operator, 'POST', '/admin/v1/organisations', { name: 'Paging Bank B' })).id;
      orgAdmin = await sessionFor(cp, await makeMember(cp, orgA, 'org_admin', 'a-admin'));
    });
    after(async () => {
      await cp?.stop();
      await target.cleanup();
    });

    test('ok/users page in username order and filter by status, username and e-mail prefix', async () => {
      const store = accountStore(cp.platform.storage.db, cp.kek);
      const now = new Date();
      for (let i = 0; i < 9; i++) {
        await store.add({ username: `pager${i}`, email: `Pager${i}@${i % 2 ? 'odd' : 'even'}.example` }, now);
      }
      await store.setStatus('pager3', 'disabled', now);
      await store.setStatus('pager6', 'disabled', now);
      const all = await walk(operator, '/admin/v1/users', 4, 'users');
      const everyone = (await call(cp, operator, 'GET', '/admin/v1/users?limit=1000')).json.users;
      assert.deepEqual(
        all.map((u) => u.id),
        everyone.map((u: { id: string }) => u.id),
      );
      const names = all.map((u) => u.username);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('pager0') && names.includes('root-operator'));
      const disabled = await walk(operator, '/admin/v1/users?status=disabled', 1, 'users');
      assert.deepEqual(
        disabled.map((u) => u.username),
        ['pager3', 'pager6'],
      );
      const prefixed = await walk(operator, '/admin/v1/users?username_prefix=PAGER', 2, 'users');
      assert.equal(prefixed.length, 9);
      const byEmail = await walk(operator, '/admin/v1/users?email_prefix=pager1%40ODD', 5, 'users');
      assert.deepEqual(
        byEmail.map((u) => u.username),
        ['pager1'],
      );
      // `%` and `_` are literal in a prefix.
      assert.equal((await walk(operator, '/admin/v1/users?username_prefix=pager_', 5, 'users')).length, 0);
      const active = await walk(operator, '/admin/v1/users?status=active&username_prefix=pager', 3, 'users');
      assert.equal(active.length, 7);
      const bad = await call(cp, operator, 'GET', '/admin/v1/users?status=locked');
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/consents page oldest first and filter by user and client', async () => {
      const grants = grantStore(cp.platform.storage);
      const account = await accountStore(cp.platform.storage.db, cp.kek).add(
        { username: 'consenter' },
        new Date(),
      );
      const base = Date.now();
      for (let i = 0; i < 7; i++) {
        await grants.remember(
          {
            grant_id: `grant-page-${i}`,
            account_id: i < 5 ? account.id : 'acct_other',
            client_id: i % 2 ? 'client-odd' : 'client-even',
            scope: 'openid',
            expires_at: new Date(base + 86_400_000).toISOString(),
          },
          // Two share an instant: the grant id breaks the tie.
          new Date(base - 10_000 + Math.min(i, 5) * 1000),
        );
      }
      const all = await walk(operator, '/admin/v1/grants', 3, 'grants', 'grant_id');
      assert.deepEqual(
        all.map((g) => g.grant_id),
        [0, 1, 2, 3, 4, 5, 6].map((i) => `grant-page-${i}`),
      );
      const mine = await walk(operator, '/admin/v1/grants?user=consenter', 2, 'grants', 'grant_id');
      assert.equal(mine.length, 5);
      assert.ok(mine.every((g) => g.username === 'consenter'));
      const odd = await walk(operator, '/admin/v1/grants?client_id=client-odd', 1, 'grants', 'grant_id');
      assert.deepEqual(
        odd.map((g) => g.grant_id),
        ['grant-page-1', 'grant-page-3', 'grant-page-5'],
      );
    });

    test('ok/invitations page newest first (admin and partner API) and filter by status, role, e-mail', async () => {
      const created: string[] = [];
      for (let i = 0; i < 7; i++) {
        const inv = await ok(operator, 'POST', `/admin/v1/organisations/${orgA}/invitations`, {
          role: i % 3 === 0 ? 'org_admin' : 'developer',
          email: `Invitee${i}@bank-a.example`,
        });
        created.push(inv.id);
      }
      await ok(operator, 'POST', `/admin/v1/organisations/${orgB}/invitations`, { role: 'viewer' });
      await ok(operator, 'DELETE', `/admin/v1/organisations/${orgA}/invitations/${created[2]}`);
      const admin = await walk(operator, `/admin/v1/organisations/${orgA}/invitations`, 3);
      assert.deepEqual(new Set(admin.map((i) => i.id)), new Set(created));
      const times = admin.map((i) => i.created_at);
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
      assert.ok(admin.every((i) => i.org_id === orgA));
      const partner = await walk(orgAdmin, `/partner/v1/organisations/${orgA}/invitations`, 2);
      assert.deepEqual(
        partner.map((i) => i.id),
        admin.map((i) => i.id),
      );
      const revoked = await walk(operator, `/admin/v1/organisations/${orgA}/invitations?status=revoked`, 1);
      assert.deepEqual(
        revoked.map((i) => i.id),
        [created[2]],
      );
      const pending = await walk(orgAdmin, `/partner/v1/organisations/${orgA}/invitations?status=pending`, 4);
      assert.equal(pending.length, 6);
      assert.ok(pending.every((i) => i.status === 'pending'));
      const admins = await walk(operator, `/admin/v1/organisations/${orgA}/invitations?role=org_admin`, 1);
      assert.equal(admins.length, 3);
      const one = await walk(
        orgAdmin,
        `/partner/v1/organisations/${orgA}/invitations?email_prefix=invitee4%40`,
        2,
      );
      assert.deepEqual(
        one.map((i) => i.id),
        [created[4]],
      );
      const bad = await call(
        cp,
        orgAdmin,
        'GET',
        `/partner/v1/organisations/${orgA}/invitations?status=lost`,
      );
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/members page oldest membership first (admin and partner API) and filter by role', async () => {
      const now = Date.now();
      for (let i = 0; i < 6; i++) {
        const account = await accountStore(cp.platform.storage.db, cp.kek).add(
          { username: `member${i}`, email: `member${i}@bank-a.example` },
          new Date(),
        );
        await cp.platform.storage.transaction((tx) =>
          putMember(
            tx,
            { orgId: orgA, accountId: account.id, role: i % 2 ? 'viewer' : 'developer' },
            new Date(now + i * 1000),
          ),
        );
      }
      const admin = await walk(operator, `/admin/v1/organisations/${orgA}/members`, 2, 'items', 'account_id');
      assert.equal(admin.length, 7); // the org_admin and six
      assert.equal(admin[0].username, 'a-admin');
      assert.deepEqual(
        admin.slice(1).map((m) => m.username),
        [0, 1, 2, 3, 4, 5].map((i) => `member${i}`),
      );
      const partner = await walk(
        orgAdmin,
        `/partner/v1/organisations/${orgA}/members`,
        3,
        'items',
        'account_id',
      );
      assert.deepEqual(
        partner.map((m) => m.account_id),
        admin.map((m) => m.account_id),
      );
      const viewers = await walk(
        orgAdmin,
        `/partner/v1/organisations/${orgA}/members?role=viewer`,
        1,
        'items',
        'account_id',
      );
      assert.deepEqual(
        viewers.map((m) => m.username),
        ['member1', 'member3', 'member5'],
      );
      const none = await walk(operator, `/admin/v1/organisations/${orgB}/members`, 2, 'items', 'account_id');
      assert.equal(none.length, 0);
    });

    test('ok/operator accounts page oldest grant first and filter by role', async () => {
      for (let i = 0; i < 4; i++) await makeOperator(cp, i % 2 ? 'auditor' : 'administrator', `op-pager${i}`);
      const all = await walk(operator, '/admin/v1/operator-accounts', 2, 'items', 'account_id');
      assert.equal(all.length, 5);
      assert.equal(all[0].username, 'root-operator');
      const auditors = await walk(
        operator,
        '/admin/v1/operator-accounts?role=auditor',
        1,
        'items',
        'account_id',
      );
      assert.deepEqual(
        auditors.map((a) => a.username),
        ['op-pager1', 'op-pager3'],
      );
      const bad = await call(cp, operator, 'GET', '/admin/v1/operator-accounts?role=owner');
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/test-plan runs page newest first (admin and partner API) and filter', async () => {
      const base = Date.parse('2026-06-01T10:00:00.000Z');
      for (let i = 0; i < 8; i++) {
        await cp.platform.storage.transaction((tx) =>
          recordTestplanRun(
            tx,
            {
              orgId: i < 6 ? orgA : orgB,
              clientId: i % 2 ? 'app-odd' : 'app-even',
              environment: i === 5 ? 'production' : 'sandbox',
              certX5tS256: 'x5t',
              startedAt: new Date(base).toISOString(),
              finishedAt: new Date(base).toISOString(),
              outcome: i % 3 === 0 ? 'passed' : 'failed',
              report: { cases: [] },
            },
            // Runs 2 and 3 arrive at the same instant: the id breaks the tie.
            { actor: 'test', now: new Date(base + (i === 3 ? 2 : i) * 60_000) },
          ),
        );
      }
      const admin = await walk(operator, '/admin/v1/testplan-runs', 3);
      assert.equal(admin.length, 8);
      const received = admin.map((r) => r.received_at);
      assert.deepEqual(received, [...received].sort().reverse());
      const ofA = await walk(operator, `/admin/v1/testplan-runs?org_id=${orgA}`, 4);
      const partner = await walk(orgAdmin, `/partner/v1/organisations/${orgA}/testplan-runs`, 4);
      assert.equal(partner.length, 6);
      assert.deepEqual(
        partner.map((r) => r.id),
        ofA.map((r) => r.id),
      );
      const passed = await walk(
        orgAdmin,
        `/partner/v1/organisations/${orgA}/testplan-runs?outcome=passed`,
        1,
      );
      assert.equal(passed.length, 2); // runs 0 and 3
      const production = await walk(operator, '/admin/v1/testplan-runs?environment=production', 2);
      assert.equal(production.length, 1);
      const oddClient = await walk(operator, `/admin/v1/testplan-runs?client_id=app-odd&org_id=${orgA}`, 2);
      assert.equal(oddClient.length, 3);
      const window = await walk(
        operator,
        `/admin/v1/testplan-runs?received_from=${new Date(base + 2 * 60_000).toISOString()}&received_before=${new Date(base + 5 * 60_000).toISOString()}`,
        1,
      );
      assert.equal(window.length, 3); // runs 2, 3 (same instant) and 4
      const bad = await call(cp, operator, 'GET', '/admin/v1/testplan-runs?received_from=yesterday');
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/catalog scopes, roles, resources and revisions page and filter', async () => {
      const before = (await call(cp, operator, 'GET', '/admin/v1/catalog/revisions?limit=1000')).json.items
        .length;
      for (let i = 0; i < 5; i++) {
        await ok(operator, 'POST', '/admin/v1/catalog/scopes', {
          name: `pager:read:v${i}`,
          description: `pager scope ${i}`,
        });
      }
      await ok(operator, 'POST', '/admin/v1/catalog/roles', {
        name: 'pager_role',
        description: 'paging role',
        scopes: ['pager:read:v1', 'pager:read:v0'],
      });
      await ok(operator, 'POST', '/admin/v1/catalog/resources', { name: 'pager-resource', description: 'r' });
      await ok(operator, 'PATCH', '/admin/v1/catalog/scopes/pager:read:v2', { status: 'deprecated' });

      const scopes = await walk(operator, '/admin/v1/catalog/scopes', 2, 'items', 'name');
      const names = scopes.map((s) => s.name);
      assert.deepEqual(names, [...names].sort());
      for (let i = 0; i < 5; i++) assert.ok(names.includes(`pager:read:v${i}`));
      // Case-insensitive on both engines.
      const prefixed = await walk(
        operator,
        '/admin/v1/catalog/scopes?name_prefix=PAGER:',
        2,
        'items',
        'name',
      );
      assert.equal(prefixed.length, 5);
      const deprecated = await walk(
        operator,
        '/admin/v1/catalog/scopes?status=deprecated',
        1,
        'items',
        'name',
      );
      assert.deepEqual(
        deprecated.map((s) => s.name),
        ['pager:read:v2'],
      );
      const roles = await walk(operator, '/admin/v1/catalog/roles', 1, 'items', 'name');
      const role = roles.find((r) => r.name === 'pager_role');
      assert.deepEqual(role.scopes, ['pager:read:v0', 'pager:read:v1']);
      assert.ok(roles.every((r) => Array.isArray(r.scopes)));
      const resources = await walk(
        operator,
        '/admin/v1/catalog/resources?name_prefix=pager',
        1,
        'items',
        'name',
      );
      assert.deepEqual(
        resources.map((r) => r.name),
        ['pager-resource'],
      );
      const revisions = await walk(operator, '/admin/v1/catalog/revisions', 2, 'items', 'revision');
      assert.equal(revisions.length, before + 8);
      const numbers = revisions.map((r) => r.revision);
      assert.deepEqual(
        numbers,
        [...numbers].sort((a, b) => b - a),
      );
      const mine = await walk(
        operator,
        `/admin/v1/catalog/revisions?actor=${encodeURIComponent(revisions[0].actor)}`,
        3,
        'items',
        'revision',
      );
      assert.ok(mine.length >= 8);
      const bad = await call(cp, operator, 'GET', '/admin/v1/catalog/scopes?status=retired');
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/partner contacts page oldest first and filter by kind', async () => {
      for (let i = 0; i < 5; i++) {
        await ok(orgAdmin, 'POST', `/partner/v1/organisations/${orgA}/contacts`, {
          kind: i % 2 ? 'security' : 'technical',
          name: `Contact ${i}`,
          email: `contact${i}@bank-a.example`,
        });
      }
      const all = await walk(orgAdmin, `/partner/v1/organisations/${orgA}/contacts`, 2);
      // Oldest first; two added in the same millisecond are ordered by id, so compare as a set.
      assert.deepEqual(
        all.map((c) => c.name).sort(),
        [0, 1, 2, 3, 4].map((i) => `Contact ${i}`),
      );
      const security = await walk(orgAdmin, `/partner/v1/organisations/${orgA}/contacts?kind=security`, 1);
      assert.deepEqual(security.map((c) => c.name).sort(), ['Contact 1', 'Contact 3']);
      const bad = await call(cp, orgAdmin, 'GET', `/partner/v1/organisations/${orgA}/contacts?kind=sales`);
      assert.equal(bad.status, 400, bad.text);
    });

    test('fail/bad cursors, limits and unknown filters are 400 problems on every one of these lists', async () => {
      const lists: Array<[TestSession, string]> = [
        [operator, '/admin/v1/users'],
        [operator, '/admin/v1/grants'],
        [operator, `/admin/v1/organisations/${orgA}/invitations`],
        [operator, `/admin/v1/organisations/${orgA}/members`],
        [operator, '/admin/v1/operator-accounts'],
        [operator, '/admin/v1/testplan-runs'],
        [operator, '/admin/v1/catalog/scopes'],
        [operator, '/admin/v1/catalog/roles'],
        [operator, '/admin/v1/catalog/resources'],
        [operator, '/admin/v1/catalog/revisions'],
        [orgAdmin, `/partner/v1/organisations/${orgA}/invitations`],
        [orgAdmin, `/partner/v1/organisations/${orgA}/members`],
        [orgAdmin, `/partner/v1/organisations/${orgA}/testplan-runs`],
        [orgAdmin, `/partner/v1/organisations/${orgA}/contacts`],
      ];
      for (const [session, path] of lists) {
        for (const query of [
          'cursor=%21%21',
          `cursor=${encodeCursor(['a', 'b', 'c'])}`,
          `cursor=${encodeCursor([{ not: 'a key' } as unknown as string])}`,
          'limit=0',
          'limit=1001',
          'limit=abc',
          'surprise=1',
        ]) {
          const r = await call(cp, session, 'GET', `${path}?${query}`);
          assert.equal(r.status, 400, `${path}?${query}: ${r.text}`);
          assert.match(String(r.headers['content-type']), /application\/problem\+json/, `${path}?${query}`);
          if (query.startsWith('cursor'))
            assert.equal(r.json.code, 'invalid_cursor', `${path}?${query}: ${r.text}`);
        }
        const edge = await call(cp, session, 'GET', `${path}?limit=1000`);
        assert.equal(edge.status, 200, `${path}: ${edge.text}`);
      }
      // A partner member cannot page another organisation's members or invitations.
      const foreign = await call(cp, orgAdmin, 'GET', `/partner/v1/organisations/${orgB}/members?limit=1`);
      assert.ok([403, 404].includes(foreign.status), foreign.text);
    });
  });
}
