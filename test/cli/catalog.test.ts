import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PlatformProcess } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;

interface Operation {
  id: string;
  method: string;
  path_pattern: string;
  scope: string;
}

describe('cli: accredit catalog operation', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/add, update, list and remove with --json', async () => {
    const added = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'get',
      '--path',
      '/v1/balances',
      '--scope',
      'accounts:read',
      '--description',
      'Balances',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const op = json<Operation>(added.stdout);
    assert.equal(op.method, 'GET');
    assert.equal(op.path_pattern, '/v1/balances');

    const updated = await platform.cli([
      'catalog',
      'operation',
      'update',
      op.id,
      '--scope',
      'accounts:write',
      '--json',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(json<Operation>(updated.stdout).scope, 'accounts:write');

    const listed = await platform.cli(['catalog', 'operation', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(json<Operation[]>(listed.stdout).find((o) => o.id === op.id)?.scope, 'accounts:write');
    const table = await platform.cli(['catalog', 'operation', 'list']);
    assert.match(table.stdout, /^ID +METHOD +PATH_PATTERN +SCOPE +ROLES$/m);
    assert.match(table.stdout, /\/v1\/balances +accounts:write +partner_writer/);

    const removed = await platform.cli(['catalog', 'operation', 'remove', op.id, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(json(removed.stdout), { id: op.id, removed: true });
    const after = json<Operation[]>((await platform.cli(['catalog', 'operation', 'list', '--json'])).stdout);
    assert.ok(!after.some((o) => o.id === op.id));
  });

  test('fail/a refused operation is one line naming every finding, exit code not 0', async () => {
    const r = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      '/v1/accounts/{key}',
      '--scope',
      'nope:read',
    ]);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /^accredit: error: /);
    assert.match(lines[0] ?? '', /scope "nope:read" is not in the catalog/);
    assert.match(lines[0] ?? '', /GET \/v1\/accounts\/\{id\} matches exactly the same requests/);
    const missing = await platform.cli([
      'catalog',
      'operation',
      'remove',
      '00000000-0000-0000-0000-000000000000',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^accredit: error: catalog operation 0{8}-.* does not exist$/m);
  });

  test('ok/--help describes each subcommand', async () => {
    const help = await platform.cli(['catalog', 'operation', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const sub of ['list', 'add', 'update', 'remove'])
      assert.match(help.stdout, new RegExp(`^  ${sub}\\b`, 'm'));
    const add = await platform.cli(['catalog', 'operation', 'add', '--help']);
    assert.match(add.stdout, /--path <pattern>/);
  });
});
