import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createRedisReplayCache } from '../../src/shared/replay-cache/index.ts';
import { createStorageReplayCache, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { probeRedis } from '../support/redis.ts';
import { redisNodes, storageNodes, unreachableRedisUrl } from '../support/two-nodes.ts';
import { replayCacheContract } from './replay-cache.contract.ts';

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

// Two storage handles on one database, two Redis clients: two nodes.
for (const target of targets) {
  replayCacheContract(target.name, storageNodes(target, createStorageReplayCache), { skip: target.skip });
}
replayCacheContract(
  'redis',
  redisNodes('replay', (url, prefix) => createRedisReplayCache(url, { prefix })),
  { skip: await probeRedis() },
);

for (const target of targets) {
  test(`${target.name} replay cache: expired rows are pruned, live ones kept`, {
    skip: target.skip,
  }, async () => {
    const storage = await openStorage(target.freshOptions());
    try {
      let now = 1_000_000;
      const cache = createStorageReplayCache(storage.db, { now: () => now });
      assert.equal(await cache.claim('old', now + 1000), true);
      assert.equal(await cache.claim('live', now + 600_000), true);
      now += 120_000; // past 'old', and past the prune interval
      assert.equal(await cache.claim('new', now + 1000), true);
      const keys = (await storage.db.selectFrom('replay_cache').select('key').execute()).map((r) => r.key);
      assert.deepEqual(keys.sort(), ['live', 'new']);
      assert.equal(await cache.claim('live', now + 1000), false);
    } finally {
      await storage.close();
    }
  });
}

test('redis replay cache: Redis unreachable → the claim rejects (the caller fails closed), never "not seen"', async () => {
  const errors: Error[] = [];
  const cache = createRedisReplayCache(await unreachableRedisUrl(), { onError: (err) => errors.push(err) });
  try {
    await assert.rejects(cache.claim('k', Date.now() + 60_000));
    assert.ok(errors.length > 0, 'the connection error is reported');
  } finally {
    await cache.close();
  }
});
