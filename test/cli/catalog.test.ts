import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PlatformProcess } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;

interface Operation {
  id: string;
  method: string;
  path_pattern: string;
  required_scopes: string[][];
  roles?: string[];
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
    assert.deepEqual(json<Operation>(updated.stdout).required_scopes, [['accounts:write']]);

    const listed = await platform.cli(['catalog', 'operation', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const listedOp = json<Operation[]>(listed.stdout).find((o) => o.id === op.id);
    assert.deepEqual(listedOp?.required_scopes, [['accounts:write']]);
    assert.deepEqual(listedOp?.roles, ['partner_writer']);
    const table = await platform.cli(['catalog', 'operation', 'list']);
    assert.match(table.stdout, /^ID +METHOD +PATH_PATTERN +SCOPES +AUTH +STATUS +ROLES$/m);
    assert.match(table.stdout, /\/v1\/balances +accounts:write +token +active +partner_writer/);

    const removed = await platform.cli(['catalog', 'operation', 'remove', op.id, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(json(removed.stdout), { id: op.id, removed: true, stage: 'active' });
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
    assert.match(lines[0] ?? '', /GET \/v1\/accounts\/\{id\} match exactly the same requests/);
    const missing = await platform.cli([
      'catalog',
      'operation',
      'remove',
      '00000000-0000-0000-0000-000000000000',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^accredit: error: catalog operation 0{8}-.* does not exist$/m);
  });

  test('ok/scopes and roles: versioned scope, role bundle, deprecation, a refused delete names its use', async () => {
    const scope = await platform.cli([
      'catalog',
      'scope',
      'add',
      'ledger:read:v1',
      '--scope-version',
      'v1',
      '--description',
      'Read the ledger',
      '--json',
    ]);
    assert.equal(scope.code, 0, scope.stderr);
    assert.equal(json<{ version: string }>(scope.stdout).version, 'v1');
    // A scope nothing uses yet is applied, with a warning.
    assert.ok(
      json<{ warnings: Array<{ code: string }> }>(scope.stdout).warnings.some(
        (w) => w.code === 'scope_unused',
      ),
    );
    const empty = await platform.cli(['catalog', 'role', 'add', 'ledger_reader', '--scopes', ',']);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /grants no scope/);
    const role = await platform.cli([
      'catalog',
      'role',
      'add',
      'ledger_reader',
      '--scopes',
      'ledger:read:v1',
      '--json',
    ]);
    assert.equal(role.code, 0, role.stderr);
    assert.deepEqual(json<{ scopes: string[] }>(role.stdout).scopes, ['ledger:read:v1']);
    const inUse = await platform.cli(['catalog', 'scope', 'remove', 'ledger:read:v1']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /scope "ledger:read:v1" is still granted by role ledger_reader/);
    const deprecated = await platform.cli(['catalog', 'scope', 'deprecate', 'ledger:read:v1', '--json']);
    assert.equal(deprecated.code, 0, deprecated.stderr);
    assert.equal(json<{ status: string }>(deprecated.stdout).status, 'deprecated');
    const newUse = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      '/v1/ledger',
      '--scope',
      'ledger:read:v1',
    ]);
    assert.notEqual(newUse.code, 0);
    assert.match(newUse.stderr, /deprecated; a new use of it is refused/);
    const revisions = await platform.cli(['catalog', 'revisions', '--json']);
    assert.equal(revisions.code, 0, revisions.stderr);
    assert.equal(json<Array<{ source: string }>>(revisions.stdout).at(-1)?.source, 'seed');
    // Issue 16: one page at a time, the next cursor on stderr; --all walks every page, filters narrow.
    const all = json<Array<{ revision: number }>>(revisions.stdout);
    const walked = await platform.cli(['catalog', 'revisions', '--limit', '1', '--all', '--json']);
    assert.equal(walked.code, 0, walked.stderr);
    assert.deepEqual(json<Array<{ revision: number }>>(walked.stdout), all);
    const onePage = await platform.cli(['catalog', 'revisions', '--limit', '1', '--json']);
    assert.equal(json<unknown[]>(onePage.stdout).length, 1);
    assert.match(onePage.stderr, /more rows: --cursor \S+/);
    const seeds = await platform.cli(['catalog', 'revisions', '--source', 'seed', '--json']);
    assert.deepEqual(
      json<Array<{ source: string }>>(seeds.stdout).map((r) => r.source),
      ['seed'],
    );
    const deprecatedScopes = await platform.cli([
      'catalog',
      'scope',
      'list',
      '--status',
      'deprecated',
      '--limit',
      '1',
      '--all',
      '--json',
    ]);
    assert.equal(deprecatedScopes.code, 0, deprecatedScopes.stderr);
    assert.deepEqual(
      json<Array<{ name: string }>>(deprecatedScopes.stdout).map((s) => s.name),
      ['ledger:read:v1'],
    );
    const ledgerRoles = await platform.cli(['catalog', 'role', 'list', '--name-prefix', 'ledger', '--json']);
    assert.deepEqual(
      json<Array<{ name: string; scopes: string[] }>>(ledgerRoles.stdout).map((r) => [r.name, r.scopes]),
      [['ledger_reader', ['ledger:read:v1']]],
    );
  });

  test('ok/a draft is felt by nobody until promoted; a dry run changes nothing', async () => {
    const dry = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      '/v1/drafted',
      '--scope',
      'accounts:read',
      '--dry-run',
      '--json',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    const list = async () =>
      json<Operation[]>((await platform.cli(['catalog', 'operation', 'list', '--json'])).stdout);
    assert.ok(!(await list()).some((o) => o.path_pattern === '/v1/drafted'));
    const staged = await platform.cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      '/v1/drafted',
      '--scope',
      'accounts:read',
      '--draft',
      '--json',
    ]);
    assert.equal(staged.code, 0, staged.stderr);
    assert.ok(!(await list()).some((o) => o.path_pattern === '/v1/drafted'));
    const show = await platform.cli(['catalog', 'draft', 'show']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /\+ operation GET \/v1\/drafted \[accounts:read\]/);
    const promoted = await platform.cli(['catalog', 'draft', 'promote', '--json']);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.ok((await list()).some((o) => o.path_pattern === '/v1/drafted'));
    const gone = await platform.cli(['catalog', 'draft', 'show']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /catalog draft draft does not exist/);
  });

  test('ok/--help describes each subcommand', async () => {
    for (const [group, subs] of [
      ['scope', ['list', 'show', 'add', 'update', 'deprecate', 'remove']],
      ['role', ['list', 'show', 'add', 'update', 'deprecate', 'remove']],
      ['resource', ['list', 'show', 'add', 'update', 'deprecate', 'remove']],
      ['draft', ['create', 'show', 'promote', 'discard']],
    ] as const) {
      const h = await platform.cli(['catalog', group, '--help']);
      assert.equal(h.code, 0, h.stderr);
      for (const sub of subs) assert.match(h.stdout, new RegExp(`^  ${sub}\\b`, 'm'), `${group} ${sub}`);
    }
    const imp = await platform.cli(['catalog', 'import', '--help']);
    for (const flag of ['--dry-run', '--draft', '--source', '--base-path', '--public'])
      assert.match(imp.stdout, new RegExp(flag));
    const help = await platform.cli(['catalog', 'operation', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const sub of ['list', 'show', 'add', 'update', 'deprecate', 'remove'])
      assert.match(help.stdout, new RegExp(`^  ${sub}\\b`, 'm'));
    const add = await platform.cli(['catalog', 'operation', 'add', '--help']);
    assert.match(add.stdout, /--path <pattern>/);
  });
});
