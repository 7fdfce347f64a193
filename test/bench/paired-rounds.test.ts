// The paired-round runner of the store benches (replay-cache, rate-limit): its order, its medians, its options;
// and both benches' command lines. The benches themselves are not run here (they measure every backend).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../bench/options.ts';
import { median, pairedRounds, parseStoreBenchArgs, type Subject } from '../../bench/paired-rounds.ts';
import { run } from '../support/platform-process.ts';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const bench = (args: string[]) => run(process.execPath, [RUN, ...args]);

test('ok/every subject once per round, the order reversed every other round; medians per subject', async () => {
  const order: string[] = [];
  const calls = new Map<string, number[]>();
  const subject = (name: string): Subject => ({
    name,
    async op(i) {
      if (i === 0) order.push(name); // each measurement starts its indices at 0
      const seen = calls.get(name) ?? [];
      seen.push(i);
      calls.set(name, seen);
    },
  });
  const progress: string[] = [];
  const { medians, rounds } = await pairedRounds(
    [subject('a'), subject('b'), subject('c')],
    { ops: 10, inFlight: 3, rounds: 3, unit: 'take' },
    (line) => progress.push(line),
  );
  assert.deepEqual(order, ['a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']);
  assert.equal(rounds.length, 3);
  assert.deepEqual(
    medians.map((m) => m.subject),
    ['a', 'b', 'c'],
  );
  for (const m of medians) assert.ok(m.concurrentOpsPerSecond > 0);
  // 100 warm-up + 10 one at a time + 10 in flight per round, each call with its own index (a fresh key).
  for (const seen of calls.values()) {
    assert.equal(seen.length, 3 * 120);
    assert.equal(new Set(seen.slice(0, 120)).size, 120);
  }
  assert.equal(progress.length, 9);
  assert.match(progress[0] ?? '', /^round 1\/3 a +one at a time +\d+ µs\/take .* 3 in flight +\d+ takes\/s/);
});

test('ok/median: the middle value, or the mean of the two middle ones', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 3);
  assert.equal(median([7]), 7);
});

test('ok/options: defaults, each set; fail/bad values and unknown options are usage errors', () => {
  assert.deepEqual(parseStoreBenchArgs([], 'take').options, {
    json: false,
    ops: 2000,
    inFlight: 32,
    rounds: 3,
  });
  const set = parseStoreBenchArgs(
    ['--takes', '50', '--in-flight', '4', '--rounds', '5', '--decisions', '8', '--json'],
    'take',
    ['decisions'],
  );
  assert.deepEqual(set.options, { json: true, ops: 50, inFlight: 4, rounds: 5 });
  assert.equal(set.values.decisions, '8');
  for (const args of [
    ['--takes', '0'],
    ['--in-flight', '1.5'],
    ['--rounds', 'x'],
    ['--claims', '5'],
    ['extra'],
  ]) {
    assert.throws(() => parseStoreBenchArgs(args, 'take'), UsageError, args.join(' '));
  }
});

test('ok/--help of both benches names the shared options; fail/bad options exit 2 before anything is opened', async () => {
  for (const [name, unit] of [
    ['replay-cache', 'claims'],
    ['rate-limit', 'takes'],
  ] as const) {
    const help = await bench([name, '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const option of [`--${unit}`, '--in-flight', '--rounds', '--json']) {
      assert.ok(help.stdout.includes(option), `${name} --help documents ${option}`);
    }
    const bad = await bench([name, '--rounds', '0']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`^bench ${name}: --rounds: expected an integer ≥ 1`));
  }
  const decisions = await bench(['rate-limit', '--decisions', '2']);
  assert.equal(decisions.code, 2, decisions.stderr);
});
