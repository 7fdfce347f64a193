import { Redis, type RedisOptions } from 'ioredis';
import { checkRedisUrl } from '../rate-limit/redis-rate-limit-store.ts';
import type { ReplayCache } from './replay-cache.ts';

/**
 * The replay cache on Redis (config `replayCache.redisUrl` / `ACCREDIT_REDIS_URL`): `SET key 1 NX PX ttl` is one
 * atomic command, so of two claims of one key on any nodes exactly one gets `OK`, and Redis forgets the key when
 * it expires (no pruning). Keys are prefixed so the cache can share a Redis with other data.
 */
export function createRedisReplayCache(
  url: string,
  options: {
    prefix?: string;
    now?: () => number;
    onError?: (err: Error) => void;
    /** PEM bundle trusted for a rediss:// server (a private CA); a redis:// URL with one is refused. */
    ca?: string;
  } = {},
): ReplayCache {
  if (options.ca !== undefined) checkRedisUrl(url, options.ca);
  const prefix = options.prefix ?? 'accredit:replay:';
  const now = options.now ?? Date.now;
  // The client connects at once and reconnects on its own. A command waits for the connection through one
  // reconnection attempt at most, then fails: a claim that cannot be recorded is an error (the caller fails
  // closed), never a silent "not seen".
  const redisOptions: RedisOptions = { maxRetriesPerRequest: 1 };
  if (options.ca !== undefined) redisOptions.tls = { ca: options.ca };
  const redis = new Redis(url, redisOptions);
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
