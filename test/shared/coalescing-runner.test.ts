import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCoalescingRunner } from '../../src/shared/coalescing-runner.ts';

test('ok/one pass at a time; wake-ups during a pass ask for exactly one more', async () => {
  let passes = 0;
  let active = 0;
  let release: () => void = () => {};
  const runner = createCoalescingRunner(
    async () => {
      passes++;
      active++;
      assert.equal(active, 1, 'never two passes at once');
      if (passes <= 2) {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      active--;
    },
    { intervalMs: 60_000, onError: () => assert.fail('no error expected') },
  );
  const done = runner.wake();
  void runner.wake();
  void runner.wake();
  void runner.wake();
  release();
  // The second pass starts once the first has ended; let it, then end it too.
  while (passes < 2) await new Promise((r) => setImmediate(r));
  release();
  await done;
  assert.equal(passes, 2, 'three wake-ups during the first pass made one more pass');
  await runner.flush();
  assert.equal(passes, 3, 'flush runs a pass for whatever was woken before it');
  await runner.close();
});

test('fail/a failed pass is reported and the next wake-up runs again; closed runners do nothing', async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const runner = createCoalescingRunner(
    async () => {
      calls++;
      if (calls === 1) throw new Error('database down');
    },
    { intervalMs: 60_000, onError: (err) => errors.push(err) },
  );
  await runner.wake();
  assert.equal(errors.length, 1);
  await runner.wake();
  assert.equal(calls, 2);
  await runner.close();
  assert.equal(runner.closed, true);
  await runner.wake();
  assert.equal(calls, 2, 'nothing runs once closed');
});
