import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PlatformProcess } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;
const record = (i: number) => ({
  external_ref: `cli-${i}`,
  name: `Cli Partner ${i}`,
  contacts: [{ kind: 'security', name: 'Sec', email: `sec@cli${i}.example` }],
  applications: [
    { external_ref: 'a', name: 'Payments' },
    { external_ref: 'b', name: 'Reports', environment: 'sandbox' },
  ],
});

describe('cli: accredit import, paged lists (--limit, --cursor, --all)', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
  });
  after(() => platform?.stop());

  test('fail/an invalid file is reported whole and nothing is written (exit 1)', async () => {
    const file = join(platform.dir, 'bad.ndjson');
    writeFileSync(file, `${JSON.stringify(record(1))}\n{"external_ref":"x"}\nnot json\n`);
    const run = await platform.cli(['import', file]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /3 records: 2 finding\(s\), nothing written/);
    assert.match(run.stdout, /invalid_json/);
    const orgs = json<unknown[]>((await platform.cli(['org', 'list', '--all', '--json'])).stdout);
    assert.equal(orgs.length, 0);
  });

  test('ok/dry run, import with progress, re-run skips; lists page through', async () => {
    const file = join(platform.dir, 'partners.ndjson');
    writeFileSync(file, `${Array.from({ length: 12 }, (_, i) => JSON.stringify(record(i))).join('\n')}\n`);
    const dry = await platform.cli(['import', file, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(json<{ summary: unknown }>(dry.stdout).summary, {
      organisations: { create: 12, existing: 0 },
      applications: { create: 24, existing: 0 },
    });
    const real = await platform.cli(['import', file]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stderr, /imported 12\/12 records/);
    assert.match(real.stdout, /12 organisations and 24 applications created/);
    const again = await platform.cli(['import', file, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(json<Record<string, number>>(again.stdout), {
      records: 12,
      organisations_created: 0,
      organisations_skipped: 12,
      applications_created: 0,
    });
    // A JSON array file is accepted too.
    const arrayFile = join(platform.dir, 'partners.json');
    writeFileSync(arrayFile, JSON.stringify([record(50)]));
    const fromArray = await platform.cli(['import', arrayFile, '--json']);
    assert.equal(json<{ organisations_created: number }>(fromArray.stdout).organisations_created, 1);

    const first = await platform.cli(['app', 'list', '--limit', '5', '--json']);
    assert.equal(json<unknown[]>(first.stdout).length, 5);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    assert.ok(cursor, first.stderr);
    const second = await platform.cli(['app', 'list', '--limit', '5', '--cursor', cursor, '--json']);
    const ids = new Set(
      [
        ...json<Array<{ client_id: string }>>(first.stdout),
        ...json<Array<{ client_id: string }>>(second.stdout),
      ].map((a) => a.client_id),
    );
    assert.equal(ids.size, 10, 'the second page continues the first');
    const all = json<unknown[]>((await platform.cli(['app', 'list', '--all', '--json'])).stdout);
    assert.equal(all.length, 26);
    const sandbox = json<unknown[]>(
      (await platform.cli(['app', 'list', '--all', '--environment', 'sandbox', '--json'])).stdout,
    );
    assert.equal(sandbox.length, 13);
    const named = json<Array<{ name: string }>>(
      (await platform.cli(['org', 'list', '--name-prefix', 'cli partner 1', '--json'])).stdout,
    );
    assert.deepEqual(named.map((o) => o.name).sort(), ['Cli Partner 1', 'Cli Partner 10', 'Cli Partner 11']);
    const bad = await platform.cli(['org', 'list', '--limit', '5000']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /limit/);
  });
});
