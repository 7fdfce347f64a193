import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PlatformProcess } from '../support/platform-process.ts';

/** `accredit org|app|catalog rate-limit …` and an operation's own limit, against a real `accredit serve`. */
describe('cli: rate limits', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;
  let orgId: string;

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    const org = await platform.cli(['org', 'create', '--name', 'Limited Bank', '--json']);
    assert.equal(org.code, 0, org.stderr);
    orgId = (JSON.parse(org.stdout) as { id: string }).id;
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/org rate-limit set, show, remove', async () => {
    const set = await platform.cli([
      'org',
      'rate-limit',
      'set',
      orgId,
      '--limit',
      '100000/1d',
      '--limit',
      '50/1s',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /limits: +50 per 1 s, 100000 per 86400 s/);
    const shown = await platform.cli(['org', 'rate-limit', 'show', orgId, '--json']);
    assert.deepEqual(JSON.parse(shown.stdout).policy, [
      { quota: 50, window: 1 },
      { quota: 100000, window: 86400 },
    ]);
    // Issue 16: every organisation with limits set, a page at a time.
    const second = await platform.cli(['org', 'create', '--name', 'Limited Bank Two', '--json']);
    const secondId = (JSON.parse(second.stdout) as { id: string }).id;
    assert.equal((await platform.cli(['org', 'rate-limit', 'set', secondId, '--limit', '5/1s'])).code, 0);
    const listed = await platform.cli(['org', 'rate-limit', 'list', '--limit', '1', '--all', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ subject_id: string }>).map((r) => r.subject_id).sort(),
      [orgId, secondId].sort(),
    );
    const onePage = await platform.cli(['org', 'rate-limit', 'list', '--limit', '1']);
    assert.match(onePage.stderr, /more rows: --cursor /);
    const apps = await platform.cli(['app', 'rate-limit', 'list', '--json']);
    assert.deepEqual(JSON.parse(apps.stdout), []);
    assert.equal((await platform.cli(['org', 'rate-limit', 'remove', secondId])).code, 0);
    const removed = await platform.cli(['org', 'rate-limit', 'remove', orgId]);
    assert.equal(removed.code, 0, removed.stderr);
    const none = await platform.cli(['org', 'rate-limit', 'show', orgId]);
    assert.match(none.stdout, /none set: the catalog’s apply/);
  });

  test('fail/a malformed --limit, no limit at all, or an unknown application: exit code not 0, nothing set', async () => {
    const bad = await platform.cli(['org', 'rate-limit', 'set', orgId, '--limit', '10/1w']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /QUOTA\/WINDOW/);
    const empty = await platform.cli(['org', 'rate-limit', 'set', orgId]);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr + empty.stdout, /--limit \(repeatable\) or --unlimited/);
    const unknown = await platform.cli(['app', 'rate-limit', 'set', 'no-such-client', '--unlimited']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr + unknown.stdout, /does not exist/);
    const shown = await platform.cli(['org', 'rate-limit', 'show', orgId, '--json']);
    assert.equal(JSON.parse(shown.stdout).policy, null);
  });

  test('ok/catalog rate-limit and an operation’s own limit', async () => {
    const set = await platform.cli([
      'catalog',
      'rate-limit',
      'set',
      '--client',
      '10/1s',
      '--organisation',
      '100/1s',
      '--json',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout).policy, {
      client: [{ quota: 10, window: 1 }],
      organisation: [{ quota: 100, window: 1 }],
    });
    const added = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      '/v1/limited',
      '--scope',
      'accounts:read',
      '--description',
      'Limited',
      '--client-limit',
      '5/1m',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const op = JSON.parse(added.stdout) as { id: string; rate_limit?: unknown };
    assert.deepEqual(op.rate_limit, { client: [{ quota: 5, window: 60 }] });
    const cleared = await platform.cli([
      'catalog',
      'operation',
      'update',
      op.id,
      '--clear-rate-limit',
      '--json',
    ]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal((JSON.parse(cleared.stdout) as { rate_limit?: unknown }).rate_limit, undefined);
    const removed = await platform.cli(['catalog', 'rate-limit', 'remove']);
    assert.equal(removed.code, 0, removed.stderr);
  });
});
