// Issue 15: `accredit org invite` and `accredit operator grant|revoke|list`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PlatformProcess } from '../support/platform-process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'accredit-cli-console-'));

describe('cli: org invite and operator accounts (issue 15)', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    writeFileSync(join(tmp, 'pw'), 'correct horse battery\n');
  });
  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('ok/org invite prints a one-time link; err/a bad role is a usage error', async () => {
    const org = await platform.cli(['org', 'create', '--name', 'Cli Invite Org', '--json']);
    assert.equal(org.code, 0, org.stderr);
    const orgId = (JSON.parse(org.stdout) as { id: string }).id;
    const invited = await platform.cli(['org', 'invite', '--org', orgId, '--role', 'org_admin', '--json']);
    assert.equal(invited.code, 0, invited.stderr);
    const invitation = JSON.parse(invited.stdout) as { url: string; role: string; expires_at: string };
    assert.match(invitation.url, /\/console\/invite\/[A-Za-z0-9_-]{43}$/);
    assert.equal(invitation.role, 'org_admin');
    const plain = await platform.cli([
      'org',
      'invite',
      '--org',
      orgId,
      '--role',
      'viewer',
      '--email',
      'v@x.example',
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /url:\s+https:\/\/.+\/console\/invite\//);
    assert.match(plain.stderr, /shown only now/);
    const bad = await platform.cli(['org', 'invite', '--org', orgId, '--role', 'owner']);
    assert.equal(bad.code, 2);
    const unknown = await platform.cli(['org', 'invite', '--org', 'no-such-org', '--role', 'viewer']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /does not exist/);
    const help = await platform.cli(['org', 'invite', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--role <role>/);
  });

  test('ok/operator grant, list, revoke; err/unknown account, bad role', async () => {
    const added = await platform.cli([
      'user',
      'add',
      'ops-person',
      '--password-file',
      join(tmp, 'pw'),
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const granted = await platform.cli(['operator', 'grant', 'ops-person', '--role', 'auditor', '--json']);
    assert.equal(granted.code, 0, granted.stderr);
    assert.equal((JSON.parse(granted.stdout) as { role: string }).role, 'auditor');
    const list = await platform.cli(['operator', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as Array<{ username: string; role: string }>).map((r) => [r.username, r.role]),
      [['ops-person', 'auditor']],
    );
    const table = await platform.cli(['operator', 'list']);
    assert.match(table.stdout, /ops-person\s+auditor/);
    assert.equal((await platform.cli(['operator', 'grant', 'ops-person', '--role', 'root'])).code, 2);
    const nobody = await platform.cli(['operator', 'grant', 'nobody', '--role', 'auditor']);
    assert.notEqual(nobody.code, 0);
    const revoked = await platform.cli(['operator', 'revoke', 'ops-person']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await platform.cli(['operator', 'revoke', 'ops-person'])).code, 1);
    assert.equal((await platform.cli(['operator', 'list'])).stdout.trim(), '(none)');
    assert.equal((await platform.cli(['operator', '--help'])).code, 0);
  });

  test('ok/org invitations and members, operator and user lists page with --limit/--cursor/--all and filter', async () => {
    const org = await platform.cli(['org', 'create', '--name', 'Cli Paging Org', '--json']);
    assert.equal(org.code, 0, org.stderr);
    const orgId = (JSON.parse(org.stdout) as { id: string }).id;
    for (const role of ['org_admin', 'viewer', 'viewer', 'developer']) {
      const r = await platform.cli(['org', 'invite', '--org', orgId, '--role', role, '--json']);
      assert.equal(r.code, 0, r.stderr);
    }
    const all = await platform.cli(['org', 'invitations', '--org', orgId, '--limit', '1', '--all', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const rows = JSON.parse(all.stdout) as Array<{ id: string; role: string; status: string }>;
    assert.equal(rows.length, 4);
    assert.equal(new Set(rows.map((r) => r.id)).size, 4);
    // Without --all: one page on stdout, the next cursor on stderr; following it gives the rest.
    const first = await platform.cli(['org', 'invitations', '--org', orgId, '--limit', '3', '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as unknown[]).length, 3);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    assert.ok(cursor, first.stderr);
    const rest = await platform.cli(['org', 'invitations', '--org', orgId, '--cursor', cursor, '--json']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual(
      [
        ...(JSON.parse(first.stdout) as Array<{ id: string }>),
        ...(JSON.parse(rest.stdout) as Array<{ id: string }>),
      ].map((r) => r.id),
      rows.map((r) => r.id),
    );
    assert.doesNotMatch(rest.stderr, /--cursor/);
    const viewers = await platform.cli(['org', 'invitations', '--org', orgId, '--role', 'viewer', '--json']);
    assert.equal((JSON.parse(viewers.stdout) as unknown[]).length, 2);
    const pending = await platform.cli(['org', 'invitations', '--org', orgId, '--status', 'pending']);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /viewer/);
    assert.equal((await platform.cli(['org', 'invitations', '--org', orgId, '--status', 'lost'])).code, 2);
    const members = await platform.cli(['org', 'members', '--org', orgId, '--json']);
    assert.equal(members.code, 0, members.stderr);
    assert.deepEqual(JSON.parse(members.stdout), []);
    const badCursor = await platform.cli(['org', 'members', '--org', orgId, '--cursor', 'bm90LWEtY3Vyc29y']);
    assert.notEqual(badCursor.code, 0);
    assert.match(badCursor.stderr, /cursor/);
    const badLimit = await platform.cli(['operator', 'list', '--limit', 'many']);
    assert.notEqual(badLimit.code, 0);

    for (const name of ['pager-a', 'pager-b', 'pager-c']) {
      const added = await platform.cli(['user', 'add', name, '--password-file', join(tmp, 'pw'), '--json']);
      assert.equal(added.code, 0, added.stderr);
      const granted = await platform.cli([
        'operator',
        'grant',
        name,
        '--role',
        name === 'pager-b' ? 'administrator' : 'auditor',
      ]);
      assert.equal(granted.code, 0, granted.stderr);
    }
    const auditors = await platform.cli([
      'operator',
      'list',
      '--role',
      'auditor',
      '--limit',
      '1',
      '--all',
      '--json',
    ]);
    assert.equal(auditors.code, 0, auditors.stderr);
    assert.deepEqual(
      (JSON.parse(auditors.stdout) as Array<{ username: string }>).map((r) => r.username),
      ['pager-a', 'pager-c'],
    );
    const users = await platform.cli([
      'user',
      'list',
      '--username-prefix',
      'pager-',
      '--limit',
      '2',
      '--all',
      '--json',
    ]);
    assert.equal(users.code, 0, users.stderr);
    assert.deepEqual(
      (JSON.parse(users.stdout) as Array<{ username: string }>).map((r) => r.username),
      ['pager-a', 'pager-b', 'pager-c'],
    );
    const runs = await platform.cli(['testplan', 'runs', '--org', orgId, '--outcome', 'passed', '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.deepEqual(JSON.parse(runs.stdout), []);
  });
});
