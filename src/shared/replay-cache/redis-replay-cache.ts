import { Redis } from 'ioredis';
import type { ReplayCache } from './replay-cache.ts';

/**
 * The replay cache on Redis (config `replayCache.redisUrl` / `ACCREDIT_REDIS_URL`): `SET key 1 NX PX ttl` is one
 * atomic command, so of two claims of one key on any nodes exactly one gets `OK`, and Redis forgets the key when
 * it expires (no pruning). Keys are prefixed so the cache can share a Redis with other data.
 */
export function createRedisReplayCache(
  url: string,
  options: { prefix?: string; now?: () => number; onError?: (err: Error) => void } = {},
): ReplayCache {
  const prefix = options.prefix ?? 'accredit:replay:';
  const now = options.now ?? Date.now;
  // The client connects at once and reconnects on its own. A command waits for the connection through one
  // reconnection attempt at most, then fails: a claim that cannot be recorded is an error (the caller fails
  // closed), never a silent "not seen".
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  // Connection errors are reported here and again to each claim they fail; never an unhandled 'error' event.
  redis.on('error', (err: Error) => options.onError?.(err));
  return {
    async claim(key, expiresAtMs) {
      const ttl = Math.max(1, Math.ceil(expiresAtMs - now()));
      const reply = await redis.set(`${prefix}${key}`, '1', 'PX', ttl, 'NX');
      return reply === 'OK';
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
