// Issue 15: one-time invitations into partner organisations, members and their roles, operator accounts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { accountStore } from '../../src/authorization-server/index.ts';
import { createInvitation, createOrganisation, memberRoleOf } from '../../src/directory/index.ts';
import {
  type ConsolePlatform,
  call,
  createAccount,
  makeMember,
  makeOperator,
  PASSWORD,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

describe('invitations, members and operator accounts (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let admin: TestSession;
  let auditor: TestSession;
  let orgA: string;
  let orgB: string;
  let adminA: TestSession;
  let developerA: TestSession;
  let viewerA: TestSession;
  let adminB: TestSession;

  const newOrg = (name: string) =>
    cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name }, { actor: 'test', now: new Date() }),
    );
  const tokenOf = (url: string) => {
    const match = /\/console\/invite\/([A-Za-z0-9_-]{43})$/.exec(url);
    assert.ok(match, url);
    return match[1] as string;
  };

  before(async () => {
    // ACCREDIT_TEST_CONSOLE_DATABASE_URL: run against PostgreSQL (a fresh database) instead of SQLite.
    const url = process.env.ACCREDIT_TEST_CONSOLE_DATABASE_URL;
    cp = await startConsolePlatform(url ? { ACCREDIT_DATABASE_URL: url } : {});
    admin = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    orgA = await newOrg('Invite Org A');
    orgB = await newOrg('Invite Org B');
    adminA = await sessionFor(cp, await makeMember(cp, orgA, 'org_admin'));
    developerA = await sessionFor(cp, await makeMember(cp, orgA, 'developer'));
    viewerA = await sessionFor(cp, await makeMember(cp, orgA, 'viewer'));
    adminB = await sessionFor(cp, await makeMember(cp, orgB, 'org_admin'));
  });
  after(async () => {
    await cp?.stop();
  });

  test('ok/an operator invites the first org admin; the link is shown once and works once', async () => {
    const orgId = await newOrg('First Admin Org');
    const created = await call(cp, admin, 'POST', `/admin/v1/organisations/${orgId}/invitations`, {
      role: 'org_admin',
      email: 'first@partner.example',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.ok(created.json.url.startsWith(`${cp.platform.urls.public}/console/invite/`));
    assert.ok(created.json.expires_at);
    const token = tokenOf(created.json.url);
    // Seven days by default.
    const days = (Date.parse(created.json.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, String(days));
    const list = await call(cp, admin, 'GET', `/admin/v1/organisations/${orgId}/invitations`);
    assert.equal(list.status, 200);
    assert.equal(list.json.items.length, 1);
    assert.equal(list.json.items[0].status, 'pending');
    assert.ok(!list.text.includes(token), 'the secret is never listed');
    assert.equal(list.json.items[0].url, undefined);

    const shown = await call(cp, undefined, 'GET', `/console/api/invitations/${token}`);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.json.organisation.name, 'First Admin Org');
    assert.equal(shown.json.role, 'org_admin');
    assert.equal(shown.headers['cache-control'], 'no-store');

    // The password policy applies; a refused account leaves the invitation unused.
    const weak = await call(cp, undefined, 'POST', `/console/api/invitations/${token}/accept`, {
      username: 'first-admin',
      password: 'short',
    });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.json.code, 'invalid_password');
    assert.equal(await accountStore(cp.platform.storage.db, cp.kek).find('first-admin'), undefined);

    const accepted = await call(cp, undefined, 'POST', `/console/api/invitations/${token}/accept`, {
      username: 'first-admin',
      password: PASSWORD,
      name: 'First Admin',
    });
    assert.equal(accepted.status, 201, accepted.text);
    assert.equal(accepted.json.created, true);
    assert.equal(await memberRoleOf(cp.platform.storage.db, orgId, accepted.json.account.id), 'org_admin');

    const twice = await call(cp, undefined, 'POST', `/console/api/invitations/${token}/accept`, {
      username: 'second-try',
      password: PASSWORD,
    });
    assert.equal(twice.status, 410, twice.text);
    assert.equal(twice.json.code, 'invitation_gone');
    const gone = await call(cp, undefined, 'GET', `/console/api/invitations/${token}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.headers['cache-control'], 'no-store', 'console headers on errors too');
    assert.ok(gone.headers['content-security-policy']);
    const members = await call(cp, admin, 'GET', `/admin/v1/organisations/${orgId}/members`);
    assert.deepEqual(
      members.json.items.map((m: { username: string; role: string }) => [m.username, m.role]),
      [['first-admin', 'org_admin']],
    );
    const audit = await cp.platform.storage.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'in', ['invitation.create', 'invitation.accept'])
      .execute();
    assert.ok(audit.some((a) => a.action === 'invitation.accept'));
  });

  test('ok/two concurrent accepts: one wins, the other gets 410 and creates no account', async () => {
    const { token } = await cp.platform.storage.transaction((tx) =>
      createInvitation(tx, { orgId: orgA, role: 'viewer' }, { actor: 'test', now: new Date() }),
    );
    const [a, b] = await Promise.all(
      ['race-one', 'race-two'].map((username) =>
        call(cp, undefined, 'POST', `/console/api/invitations/${token}/accept`, {
          username,
          password: PASSWORD,
        }),
      ),
    );
    assert.deepEqual([a?.status, b?.status].sort(), [201, 410]);
    const loser = a?.status === 410 ? 'race-one' : 'race-two';
    assert.equal(await accountStore(cp.platform.storage.db, cp.kek).find(loser), undefined);
  });

  test('ok/a signed-in account accepts with its session (CSRF required)', async () => {
    const id = await createAccount(cp);
    const session = await sessionFor(cp, id);
    const invite = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/invitations`, {
      role: 'developer',
    });
    assert.equal(invite.status, 201, invite.text);
    const token = tokenOf(invite.json.url);
    const noCsrf = await call(cp, session, 'POST', `/console/api/invitations/${token}/accept`, undefined, {
      'x-csrf-token': 'wrong',
    });
    assert.equal(noCsrf.status, 403);
    const crossSite = await call(cp, session, 'POST', `/console/api/invitations/${token}/accept`, undefined, {
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(crossSite.status, 403);
    const ok = await call(cp, session, 'POST', `/console/api/invitations/${token}/accept`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.created, false);
    // Already a member: a second invitation is refused and stays unused.
    const second = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/invitations`, {
      role: 'viewer',
    });
    const already = await call(
      cp,
      session,
      'POST',
      `/console/api/invitations/${tokenOf(second.json.url)}/accept`,
    );
    assert.equal(already.status, 409, already.text);
    assert.equal(already.json.code, 'already_member');
    assert.equal(
      (await call(cp, undefined, 'GET', `/console/api/invitations/${tokenOf(second.json.url)}`)).status,
      200,
    );
    const me = await call(cp, session, 'GET', '/console/api/session');
    assert.deepEqual(
      me.json.memberships.map((m: { orgId: string; role: string }) => [m.orgId, m.role]),
      [[orgA, 'developer']],
    );
  });

  test('fail/expired, revoked and unknown invitations', async () => {
    const expired = await cp.platform.storage.transaction((tx) =>
      createInvitation(tx, { orgId: orgA, role: 'viewer', ttlMs: -1000 }, { actor: 'test', now: new Date() }),
    );
    assert.equal((await call(cp, undefined, 'GET', `/console/api/invitations/${expired.token}`)).status, 410);
    const late = await call(cp, undefined, 'POST', `/console/api/invitations/${expired.token}/accept`, {
      username: 'too-late',
      password: PASSWORD,
    });
    assert.equal(late.status, 410);
    const invite = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/invitations`, {
      role: 'viewer',
    });
    const revoked = await call(
      cp,
      adminA,
      'DELETE',
      `/partner/v1/organisations/${orgA}/invitations/${invite.json.id}`,
    );
    assert.equal(revoked.status, 204, revoked.text);
    const token = tokenOf(invite.json.url);
    assert.equal((await call(cp, undefined, 'GET', `/console/api/invitations/${token}`)).status, 410);
    const again = await call(
      cp,
      adminA,
      'DELETE',
      `/partner/v1/organisations/${orgA}/invitations/${invite.json.id}`,
    );
    assert.equal(again.status, 409);
    assert.equal(
      (await call(cp, undefined, 'GET', `/console/api/invitations/${'A'.repeat(43)}`)).status,
      404,
    );
    assert.equal((await call(cp, undefined, 'GET', '/console/api/invitations/not-a-token')).status, 404);
    const unknown = await call(cp, undefined, 'POST', `/console/api/invitations/${'B'.repeat(43)}/accept`, {
      username: 'nobody',
      password: PASSWORD,
    });
    assert.equal(unknown.status, 404);
  });

  test('fail/another organisation’s member gets 404 for invitations and members', async () => {
    const invite = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/invitations`, {
      role: 'viewer',
    });
    for (const [method, path, body] of [
      ['GET', `/partner/v1/organisations/${orgA}/invitations`],
      ['POST', `/partner/v1/organisations/${orgA}/invitations`, { role: 'org_admin' }],
      ['DELETE', `/partner/v1/organisations/${orgA}/invitations/${invite.json.id}`],
      ['GET', `/partner/v1/organisations/${orgA}/members`],
      ['PATCH', `/partner/v1/organisations/${orgA}/members/${adminA.accountId}`, { role: 'viewer' }],
      ['DELETE', `/partner/v1/organisations/${orgA}/members/${developerA.accountId}`],
    ] as Array<[string, string, unknown?]>) {
      const res = await call(cp, adminB, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
    // Org A's invitation through org B's path: not found either.
    const cross = await call(
      cp,
      adminB,
      'DELETE',
      `/partner/v1/organisations/${orgB}/invitations/${invite.json.id}`,
    );
    assert.equal(cross.status, 404);
    const crossMember = await call(
      cp,
      adminB,
      'DELETE',
      `/partner/v1/organisations/${orgB}/members/${adminA.accountId}`,
    );
    assert.equal(crossMember.status, 404);
    assert.equal((await call(cp, undefined, 'GET', `/partner/v1/organisations/${orgA}/members`)).status, 401);
  });

  test('fail/developers and viewers cannot invite or manage members; they can see the members', async () => {
    for (const session of [developerA, viewerA]) {
      const res = await call(cp, session, 'POST', `/partner/v1/organisations/${orgA}/invitations`, {
        role: 'viewer',
      });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.code, 'insufficient_member_role');
      assert.equal(
        (await call(cp, session, 'GET', `/partner/v1/organisations/${orgA}/invitations`)).status,
        403,
      );
      const patch = await call(
        cp,
        session,
        'PATCH',
        `/partner/v1/organisations/${orgA}/members/${viewerA.accountId}`,
        {
          role: 'org_admin',
        },
      );
      assert.equal(patch.status, 403);
      const list = await call(cp, session, 'GET', `/partner/v1/organisations/${orgA}/members`);
      assert.equal(list.status, 200);
      assert.ok(list.json.items.length >= 3);
    }
  });

  test('fail/the last org_admin can be neither demoted nor removed', async () => {
    const orgId = await newOrg('Last Admin Org');
    const only = await sessionFor(cp, await makeMember(cp, orgId, 'org_admin'));
    const other = await makeMember(cp, orgId, 'viewer');
    const demote = await call(
      cp,
      only,
      'PATCH',
      `/partner/v1/organisations/${orgId}/members/${only.accountId}`,
      {
        role: 'developer',
      },
    );
    assert.equal(demote.status, 409, demote.text);
    assert.equal(demote.json.code, 'last_org_admin');
    const remove = await call(
      cp,
      only,
      'DELETE',
      `/partner/v1/organisations/${orgId}/members/${only.accountId}`,
    );
    assert.equal(remove.status, 409);
    const badRole = await call(cp, only, 'PATCH', `/partner/v1/organisations/${orgId}/members/${other}`, {
      role: 'owner',
    });
    assert.equal(badRole.status, 400);
    // With a second org_admin, the first may step down.
    const promote = await call(cp, only, 'PATCH', `/partner/v1/organisations/${orgId}/members/${other}`, {
      role: 'org_admin',
    });
    assert.equal(promote.status, 200, promote.text);
    assert.equal(promote.json.role, 'org_admin');
    const stepDown = await call(
      cp,
      only,
      'PATCH',
      `/partner/v1/organisations/${orgId}/members/${only.accountId}`,
      {
        role: 'viewer',
      },
    );
    assert.equal(stepDown.status, 200);
    const removed = await call(cp, only, 'DELETE', `/partner/v1/organisations/${orgId}/members/${other}`);
    assert.equal(removed.status, 403, 'a viewer now');
  });

  test('fail/two org_admins demoting each other at once: one stays org_admin', async () => {
    const orgId = await newOrg('Mutual Demotion Org');
    const one = await sessionFor(cp, await makeMember(cp, orgId, 'org_admin'));
    const two = await sessionFor(cp, await makeMember(cp, orgId, 'org_admin'));
    const results = await Promise.all([
      call(cp, one, 'PATCH', `/partner/v1/organisations/${orgId}/members/${two.accountId}`, {
        role: 'viewer',
      }),
      call(cp, two, 'PATCH', `/partner/v1/organisations/${orgId}/members/${one.accountId}`, {
        role: 'viewer',
      }),
    ]);
    assert.ok(
      results.some((r) => r.status === 200),
      results.map((r) => r.text).join(' | '),
    );
    const roles = await Promise.all(
      [one, two].map((s) => memberRoleOf(cp.platform.storage.db, orgId, s.accountId)),
    );
    assert.equal(roles.filter((r) => r === 'org_admin').length, 1, String(roles));
  });

  test('ok/operator accounts: list, grant, change, revoke; auditors read only', async () => {
    const id = await createAccount(cp, 'future-operator');
    const granted = await call(cp, admin, 'PUT', '/admin/v1/operator-accounts/future-operator', {
      role: 'auditor',
    });
    assert.equal(granted.status, 200, granted.text);
    assert.equal(granted.json.account_id, id);
    assert.equal(granted.json.role, 'auditor');
    const changed = await call(cp, admin, 'PUT', `/admin/v1/operator-accounts/${id}`, {
      role: 'administrator',
    });
    assert.equal(changed.json.role, 'administrator');
    const list = await call(cp, auditor, 'GET', '/admin/v1/operator-accounts');
    assert.equal(list.status, 200);
    assert.ok(list.json.items.some((i: { username: string }) => i.username === 'future-operator'));
    const byAuditor = await call(cp, auditor, 'PUT', `/admin/v1/operator-accounts/${id}`, {
      role: 'auditor',
    });
    assert.equal(byAuditor.status, 403);
    assert.equal(byAuditor.json.code, 'read_only');
    assert.equal(
      (await call(cp, admin, 'PUT', '/admin/v1/operator-accounts/nobody-here', { role: 'auditor' })).status,
      404,
    );
    assert.equal(
      (await call(cp, admin, 'PUT', `/admin/v1/operator-accounts/${id}`, { role: 'root' })).status,
      400,
    );
    assert.equal((await call(cp, admin, 'DELETE', `/admin/v1/operator-accounts/${id}`)).status, 204);
    assert.equal((await call(cp, admin, 'DELETE', `/admin/v1/operator-accounts/${id}`)).status, 404);
    // No operator role any more: the admin API no longer takes this account's session.
    const session = await sessionFor(cp, id);
    assert.equal((await call(cp, session, 'GET', '/admin/v1/operator-accounts')).status, 401);
  });
});
