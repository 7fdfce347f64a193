import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStorage } from '../../src/storage/index.ts';
import { CLI, PlatformProcess, run } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;
const tmp = mkdtempSync(join(tmpdir(), 'accredit-cli-user-'));

describe('cli: accredit user and grant (issue 14)', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    writeFileSync(join(tmp, 'pw'), 'correct horse battery\n');
    writeFileSync(join(tmp, 'short'), 'short\n');
    writeFileSync(join(tmp, 'pw2'), 'another long password\n');
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('ok/add, list, totp, disable, enable, password, remove; err/duplicates, weak passwords, unknown grants', async () => {
    const added = await platform.cli(['user', 'add', 'Alice', '--password-file', join(tmp, 'pw'), '--json']);
    assert.equal(added.code, 0, added.stderr);
    const alice = json<{ id: string; username: string; status: string; totp: boolean }>(added.stdout);
    assert.equal(alice.username, 'alice');
    assert.equal(alice.status, 'active');
    assert.doesNotMatch(added.stdout, /argon2|correct horse/, 'never the password or its hash');

    const duplicate = await platform.cli(['user', 'add', 'ALICE', '--password-file', join(tmp, 'pw')]);
    assert.notEqual(duplicate.code, 0);
    assert.equal(duplicate.stderr.trim().split('\n').length, 1, duplicate.stderr);
    assert.match(duplicate.stderr, /taken/);
    const weak = await platform.cli(['user', 'add', 'bob', '--password-file', join(tmp, 'short')]);
    assert.notEqual(weak.code, 0);
    const none = await platform.cli(['user', 'add', 'bob']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--password-file/);
    const stdin = await run(
      process.execPath,
      [CLI, '--dir', platform.dir, 'user', 'add', 'carol', '--password-stdin', '--json'],
      platform.env,
      'carol has a long password\n',
    );
    assert.equal(stdin.code, 0, stdin.stderr);

    const list = json<Array<{ username: string }>>((await platform.cli(['user', 'list', '--json'])).stdout);
    assert.deepEqual(
      list.map((u) => u.username),
      ['alice', 'carol'],
    );

    const totp = await platform.cli(['user', 'totp', 'enable', 'alice', '--json']);
    assert.equal(totp.code, 0, totp.stderr);
    const enrolled = json<{ totp: boolean; totp_secret: string; totp_uri: string }>(totp.stdout);
    assert.equal(enrolled.totp, true);
    assert.match(enrolled.totp_secret, /^[A-Z2-7]{32}$/);
    assert.match(enrolled.totp_uri, /^otpauth:\/\/totp\//);
    const shown = json<{ totp: boolean }>(
      (await platform.cli(['user', 'totp', 'disable', 'alice', '--json'])).stdout,
    );
    assert.equal(shown.totp, false);

    const disabled = json<{ status: string }>(
      (await platform.cli(['user', 'disable', alice.id, '--json'])).stdout,
    );
    assert.equal(disabled.status, 'disabled');
    const enabled = json<{ status: string }>(
      (await platform.cli(['user', 'enable', 'alice', '--json'])).stdout,
    );
    assert.equal(enabled.status, 'active');
    const password = await platform.cli([
      'user',
      'password',
      'alice',
      '--password-file',
      join(tmp, 'pw2'),
      '--json',
    ]);
    assert.equal(password.code, 0, password.stderr);

    const grants = await platform.cli(['grant', 'list', '--user', 'alice', '--json']);
    assert.equal(grants.code, 0, grants.stderr);
    assert.deepEqual(json(grants.stdout), []);
    const unknown = await platform.cli(['grant', 'revoke', 'no-such-grant']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /does not exist/);

    const removed = await platform.cli(['user', 'remove', 'alice', '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    const gone = await platform.cli(['user', 'disable', 'alice']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no account/);

    // Every change is in the audit log, never with a password, hash or TOTP secret.
    const storage = await openStorage({ url: join(platform.dir, 'accredit.db') });
    try {
      const rows = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'target_id', 'details'])
        .where('target_type', '=', 'account')
        .execute();
      assert.deepEqual(
        rows.filter((r) => r.target_id === alice.id).map((r) => r.action),
        [
          'account.created',
          'account.totp_enabled',
          'account.totp_disabled',
          'account.disabled',
          'account.enabled',
          'account.password_set',
          'account.removed',
        ],
      );
      const all = JSON.stringify(rows);
      assert.doesNotMatch(all, /correct horse|another long password|argon2/);
      assert.ok(!all.includes(enrolled.totp_secret));
    } finally {
      await storage.close();
    }

    const help = await platform.cli(['user', 'add', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--password-stdin/);
  });

  test('ok/the public listener serves the interaction pages with their headers; err/without the interaction cookie, a plain refusal', async () => {
    const r = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '-D',
      '-',
      `${platform.url}/interaction/abcdefABCDEF0123`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/\S+ 400/);
    assert.match(
      r.stdout,
      /content-security-policy: default-src 'none'; style-src 'self'; form-action 'self'/i,
    );
    assert.match(r.stdout, /x-frame-options: DENY/i);
    assert.match(r.stdout, /This sign-in has expired/);
  });
});
