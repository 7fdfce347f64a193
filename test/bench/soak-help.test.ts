// bench soak (issue 16): a smoke of its command line only; the soak itself is a 10-minute benchmark.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseOptions, slope } from '../../bench/soak.ts';
import { run } from '../support/platform-process.ts';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const bench = (args: string[]) => run(process.execPath, [RUN, ...args]);

test('ok/bench --help lists soak; soak --help and --json --help describe it', async () => {
  const list = await bench(['--help']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ {2}soak +accredit serve at 80 %/m);
  const help = await bench(['soak', '--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const option of [
    '--minutes',
    '--fraction',
    '--probe-seconds',
    '--connections',
    '--sample',
    '--database',
  ]) {
    assert.ok(help.stdout.includes(option), `--help documents ${option}`);
  }
  const json = await bench(['soak', '--json', '--help']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { command: string }).command, 'soak');
});

test('fail/bad options are a usage error (exit 2), nothing started', async () => {
  for (const args of [
    ['--minutes', '0'],
    ['--fraction', '1.5'],
    ['--database', 'mysql'],
    ['--connections', '2.5'],
    ['--unknown'],
  ]) {
    const r = await bench(['soak', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^bench soak: /);
    assert.doesNotMatch(r.stderr, /starting accredit serve/);
  }
});

test('ok/defaults: 10 minutes at 80 % on SQLite, sampled every 10 s', () => {
  assert.deepEqual(parseOptions([]), {
    minutes: 10,
    fraction: 0.8,
    probeSeconds: 25,
    connections: 16,
    sampleS: 10,
    database: 'sqlite',
    json: false,
  });
});

test('ok/the regression slope is the least-squares one; NaN without two distinct points', () => {
  assert.equal(
    slope([
      [0, 1],
      [1, 3],
      [2, 5],
    ]),
    2,
  );
  assert.equal(
    slope([
      [0, 5],
      [1, 5],
      [2, 5],
    ]),
    0,
  );
  assert.ok(
    Math.abs(
      slope([
        [0, 0],
        [1, 2],
        [2, 1],
      ]) - 0.5,
    ) < 1e-12,
  );
  assert.ok(Number.isNaN(slope([[1, 1]])));
  assert.ok(
    Number.isNaN(
      slope([
        [1, 1],
        [1, 2],
      ]),
    ),
  );
});
