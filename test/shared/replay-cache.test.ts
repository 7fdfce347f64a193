import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryReplayCache } from '../../src/shared/replay-cache/index.ts';
import { replayCacheContract } from './replay-cache.contract.ts';

replayCacheContract('memory', async () => {
  const cache = createMemoryReplayCache();
  return { a: cache, b: cache, close: () => cache.close() };
});

test('memory replay cache: full of live entries, it refuses rather than forgets', async () => {
  const cache = createMemoryReplayCache({ maxEntries: 2 });
  const exp = Date.now() + 60_000;
  assert.equal(await cache.claim('a', exp), true);
  assert.equal(await cache.claim('b', exp), true);
  assert.equal(await cache.claim('c', exp), false);
  assert.equal(await cache.claim('a', exp), false);
});
