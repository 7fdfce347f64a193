import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import type { PlatformConfig } from '../../src/platform/config.ts';
import { openRateLimitStore } from '../../src/platform/rate-limit-store.ts';
import { openReplayCache } from '../../src/platform/replay-cache.ts';
import { createRedisReplayCache } from '../../src/shared/replay-cache/index.ts';
import { createStorageReplayCache, openStorage, type Storage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { probeRedis, redisBehindTls } from '../support/redis.ts';
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

test('redis replay cache: rediss:// trusts the CA given; fail/a server outside it, or a CA without TLS', {
  skip: await probeRedis(),
}, async () => {
  assert.throws(
    () => createRedisReplayCache('redis://127.0.0.1:6379', { ca: '-----BEGIN CERTIFICATE-----' }),
    /needs a rediss:\/\/ \(TLS\) URL/,
  );
  const proxy = await redisBehindTls();
  const { url } = proxy;
  const prefix = `accredit-test:replay-tls:${process.pid}:${Date.now()}:`;
  const trusted = createRedisReplayCache(url, { prefix, ca: proxy.ca });
  const errors: Error[] = [];
  const untrusted = createRedisReplayCache(url, { prefix, onError: (err) => errors.push(err) });
  try {
    assert.equal(await trusted.claim('proof-1', Date.now() + 60_000), true);
    assert.equal(await trusted.claim('proof-1', Date.now() + 60_000), false, 'a replay is seen over TLS too');
    await assert.rejects(untrusted.claim('proof-2', Date.now() + 60_000));
    // The platform's own wiring: replayCache.redisCaFile reaches both the replay cache and the rate counters.
    const caFile = join(mkdtempSync(join(tmpdir(), 'accredit-redis-ca-')), 'ca.pem');
    writeFileSync(caFile, proxy.ca);
    const config = { replayCache: { redisUrl: url, redisCaFile: caFile } } as PlatformConfig;
    const silent = pino({ level: 'silent' });
    const platformCache = openReplayCache(config, undefined as unknown as Storage, silent);
    const platformLimits = openRateLimitStore(config, undefined as unknown as Storage, silent);
    try {
      assert.equal(await platformCache.claim(`${prefix}proof-3`, Date.now() + 60_000), true);
      assert.equal((await platformLimits.take(`${prefix}platform`, 1, 60_000)).allowed, true);
    } finally {
      await platformCache.close();
      await platformLimits.close();
    }
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
