import { Redis } from 'ioredis';
import type { ReplayCache } from './replay-cache.ts';

/**
 * The replay cache on Redis (config `replayCache.redisUrl` / `ACCREDIT_REDIS_URL`): `SET key 1 NX PX ttl` is one
 * atomic command, so of two claims of one key on any nodes exactly one gets `OK`, and Redis forgets the key when
 * it expires (no pruning). Keys are prefixed so the cache can share a Redis with other data.
 */
export function createRedisReplayCache(
  url: string,
  options: { prefix?: string; now?: () => number } = {},
): ReplayCache {
  const prefix = options.prefix ?? 'accredit:replay:';
  const now = options.now ?? Date.now;
  // Commands fail fast instead of queueing forever while Redis is down: a claim that cannot be recorded is
  // an error (the request fails closed), never a silent "not seen".
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  let connecting: Promise<void> | undefined;
  return {
    async claim(key, expiresAtMs) {
      if (redis.status === 'wait') connecting ??= redis.connect();
      if (connecting) await connecting;
      const ttl = Math.max(1, Math.ceil(expiresAtMs - now()));
      const reply = await redis.set(`${prefix}${key}`, '1', 'PX', ttl, 'NX');
      return reply === 'OK';
    },
    async close() {
      if (redis.status !== 'end' && redis.status !== 'wait')
        await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
