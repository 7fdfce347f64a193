import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, test } from 'node:test';
import { createRedisRateLimitStore } from '../../src/shared/rate-limit/index.ts';
import { createStorageRateLimitStore, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { probeRedis, REDIS_URL } from '../support/redis.ts';
import { rateLimitContract } from './rate-limit.contract.ts';

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

for (const target of targets) {
  // Two storage handles on one database: two platform nodes.
  rateLimitContract(
    target.name,
    async () => {
      const options = target.freshOptions();
      const first = await openStorage(options);
      const second = await openStorage(options);
      return {
        a: createStorageRateLimitStore(first.db),
        b: createStorageRateLimitStore(second.db),
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
rateLimitContract(
  'redis',
  async () => {
    // Two clients, two connections: two nodes.
    const prefix = `accredit-test:rl:${process.pid}:${Date.now()}:`;
    const a = createRedisRateLimitStore(REDIS_URL, { prefix });
    const b = createRedisRateLimitStore(REDIS_URL, { prefix });
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
  test(`${target.name} rate limit store: counters whose quota is whole again are pruned`, {
    skip: target.skip,
  }, async () => {
    const storage = await openStorage(target.freshOptions());
    try {
      let now = 1_000_000;
      const store = createStorageRateLimitStore(storage.db, { now: () => now });
      assert.equal((await store.take('short', 1, 1000)).allowed, true);
      assert.equal((await store.take('long', 1, 3_600_000)).allowed, true);
      now += 120_000; // past 'short', and past the prune interval
      assert.equal((await store.take('new', 1, 1000)).allowed, true);
      const keys = (await storage.db.selectFrom('rate_limit_counters').select('key').execute()).map(
        (r) => r.key,
      );
      assert.deepEqual(keys.sort(), ['long', 'new']);
      assert.equal((await store.take('long', 1, 3_600_000)).allowed, false);
    } finally {
      await storage.close();
    }
  });
}

test('redis rate limit store: Redis unreachable → the take rejects (the caller applies fail-open/closed)', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const errors: Error[] = [];
  const store = createRedisRateLimitStore(`redis://127.0.0.1:${port}`, {
    onError: (err) => errors.push(err),
  });
  try {
    await assert.rejects(store.take('k', 1, 1000));
    assert.ok(errors.length > 0, 'the connection error is reported');
  } finally {
    await store.close();
  }
});
