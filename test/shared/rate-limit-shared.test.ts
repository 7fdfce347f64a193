import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { checkRedisUrl, createRedisRateLimitStore } from '../../src/shared/rate-limit/index.ts';
import { createStorageRateLimitStore, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { probeRedis, redisBehindTls } from '../support/redis.ts';
import { redisNodes, storageNodes, unreachableRedisUrl } from '../support/two-nodes.ts';
import { rateLimitContract } from './rate-limit.contract.ts';

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

// Two storage handles on one database, two Redis clients: two nodes.
for (const target of targets) {
  rateLimitContract(target.name, storageNodes(target, createStorageRateLimitStore), { skip: target.skip });
}
rateLimitContract(
  'redis',
  redisNodes('rl', (url, prefix) => createRedisRateLimitStore(url, { prefix })),
  { skip: await probeRedis() },
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
  const errors: Error[] = [];
  const store = createRedisRateLimitStore(await unreachableRedisUrl(), {
    onError: (err) => errors.push(err),
  });
  try {
    await assert.rejects(store.take('k', 1, 1000));
    assert.ok(errors.length > 0, 'the connection error is reported');
  } finally {
    await store.close();
  }
});

test('redis rate limit store: rediss:// trusts the CA given; fail/a server outside it is refused (the take rejects)', {
  skip: await probeRedis(),
}, async () => {
  const proxy = await redisBehindTls();
  const { url } = proxy;
  const prefix = `accredit-test:rl-tls:${process.pid}:${Date.now()}:`;
  const trusted = createRedisRateLimitStore(url, { prefix, ca: proxy.ca });
  const errors: Error[] = [];
  const untrusted = createRedisRateLimitStore(url, { prefix, onError: (err) => errors.push(err) });
  try {
    const taken = await trusted.takeAll([
      { key: 'a', quota: 1, windowMs: 60_000 },
      { key: 'b', quota: 5, windowMs: 60_000 },
    ]);
    assert.deepEqual(
      taken.map((t) => t.allowed),
      [true, true],
    );
    assert.equal((await trusted.take('a', 1, 60_000)).allowed, false);
    await assert.rejects(untrusted.take('a', 1, 60_000));
    assert.ok(
      errors.some((e) => /self[- ]signed|certificate/i.test(e.message)),
      errors.map((e) => e.message).join(),
    );
  } finally {
    await trusted.close();
    await untrusted.close();
    proxy.close();
  }
});

test('redis rate limit store: fail/a CA without TLS, or a URL that is not redis(s)://, is refused before connecting', () => {
  assert.throws(
    () => createRedisRateLimitStore('redis://127.0.0.1:6379', { ca: '-----BEGIN CERTIFICATE-----' }),
    /needs a rediss:\/\/ \(TLS\) URL/,
  );
  for (const url of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', '']) {
    assert.throws(() => checkRedisUrl(url), TypeError, url);
  }
  checkRedisUrl('rediss://:pw@cache.example:6380/1', '-----BEGIN CERTIFICATE-----');
});
