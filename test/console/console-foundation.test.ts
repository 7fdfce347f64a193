// Issue 15 foundations: the built console is served with a strict CSP; the admin API takes an operator's
// console session (auditors read-only, CSRF on every change); the partner API needs a session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CONSOLE_CSP } from '../../src/console/index.ts';
import { createOrganisation } from '../../src/directory/index.ts';
import {
  type ConsolePlatform,
  call,
  makeMember,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

describe('console foundations (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let admin: TestSession;
  let auditor: TestSession;
  let member: TestSession;

  before(async () => {
    cp = await startConsolePlatform();
    admin = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    const orgId = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Foundation Org' }, { actor: 'test', now: new Date() }),
    );
    member = await sessionFor(cp, await makeMember(cp, orgId, 'org_admin'));
  });
  after(async () => {
    await cp?.stop();
  });

  test('ok/the console page and its assets are served with a strict CSP', async () => {
    const page = await call(cp, undefined, 'GET', '/console/organisations/x');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.text, /<script>(?!<\/script>)/, 'no inline script');
    const src = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(src, page.text);
    const asset = await call(cp, undefined, 'GET', src);
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await call(cp, undefined, 'GET', '/console/assets/missing.js')).status, 404);
  });

  test('ok/an administrator session reads and changes through the admin API', async () => {
    const list = await call(cp, admin, 'GET', '/admin/v1/organisations');
    assert.equal(list.status, 200, list.text);
    const created = await call(cp, admin, 'POST', '/admin/v1/organisations', { name: 'Made In Console' });
    assert.equal(created.status, 201, created.text);
  });

  test('fail/a session change without the CSRF header is refused', async () => {
    const res = await call(
      cp,
      admin,
      'POST',
      '/admin/v1/organisations',
      { name: 'No Csrf' },
      { 'x-csrf-token': 'x' },
    );
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 'csrf_token_invalid');
  });

  test('fail/a cross-site request with a session is refused', async () => {
    const res = await call(cp, admin, 'GET', '/admin/v1/organisations', undefined, {
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(res.status, 403);
  });

  test('fail/an auditor reads but cannot change', async () => {
    assert.equal((await call(cp, auditor, 'GET', '/admin/v1/organisations')).status, 200);
    const res = await call(cp, auditor, 'POST', '/admin/v1/organisations', { name: 'Auditor Org' });
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 'read_only');
  });

  test('fail/a partner member session is not an operator', async () => {
    const res = await call(cp, member, 'GET', '/admin/v1/organisations');
    assert.equal(res.status, 401);
  });

  test('fail/the partner API needs a session; a forged or revoked cookie is none', async () => {
    assert.equal((await call(cp, undefined, 'GET', '/partner/v1/organisations')).status, 401);
    const forged = { ...member, cookie: `__Host-accredit-session=${'A'.repeat(43)}` };
    assert.equal((await call(cp, forged, 'GET', '/partner/v1/organisations')).status, 401);
    const mine = await call(cp, member, 'GET', '/partner/v1/organisations');
    assert.equal(mine.status, 200, mine.text);
    assert.deepEqual(
      mine.json.items.map((o: { name: string; member_role: string }) => [o.name, o.member_role]),
      [['Foundation Org', 'org_admin']],
    );
  });

  test('ok/the admin and partner APIs each have their own OpenAPI document', async () => {
    const admin = await call(cp, undefined, 'GET', '/admin/v1/openapi.json');
    assert.equal(admin.status, 200);
    const adminPaths = Object.keys(admin.json.paths);
    assert.ok(adminPaths.length > 20);
    assert.ok(
      adminPaths.every((p) => p.startsWith('/admin/v1/')),
      'only admin paths',
    );
    const partner = await call(cp, undefined, 'GET', '/partner/v1/openapi.json');
    assert.equal(partner.status, 200);
    const partnerPaths = Object.keys(partner.json.paths);
    assert.ok(partnerPaths.includes('/partner/v1/organisations'));
    assert.ok(
      partnerPaths.every((p) => p.startsWith('/partner/v1/')),
      'only partner paths',
    );
    assert.equal(partner.json.components.securitySchemes.consoleSession.in, 'cookie');
  });
});
