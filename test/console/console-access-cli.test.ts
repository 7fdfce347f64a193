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
});
