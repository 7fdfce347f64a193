import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, test } from 'node:test';
import { createRedisReplayCache } from '../../src/shared/replay-cache/index.ts';
import { createStorageReplayCache, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { probeRedis, REDIS_URL } from '../support/redis.ts';
import { replayCacheContract } from './replay-cache.contract.ts';

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

for (const target of targets) {
  // Two storage handles on one database: two platform nodes.
  replayCacheContract(
    target.name,
    async () => {
      const options = target.freshOptions();
      const first = await openStorage(options);
      const second = await openStorage(options);
      return {
        a: createStorageReplayCache(first.db),
        b: createStorageReplayCache(second.db),
        async close() {
          await second.close();
          await first.close();
        },
      };
    },
    { skip: target.skip },
  );
}

const redisSkip = await probeRedis();
replayCacheContract(
  'redis',
  async () => {
    // Two clients, two connections: two nodes.
    const prefix = `accredit-test:${process.pid}:${Date.now()}:`;
    const a = createRedisReplayCache(REDIS_URL, { prefix });
    const b = createRedisReplayCache(REDIS_URL, { prefix });
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
      },
    };
  },
  { skip: redisSkip },
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
  // A port nothing listens on: bind one, note it, close it.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const errors: Error[] = [];
  const cache = createRedisReplayCache(`redis://127.0.0.1:${port}`, { onError: (err) => errors.push(err) });
  try {
    await assert.rejects(cache.claim('k', Date.now() + 60_000));
    assert.ok(errors.length > 0, 'the connection error is reported');
  } finally {
    await cache.close();
  }
});
