import type { Logger } from 'pino';
import { createRedisRateLimitStore, type RateLimitStore } from '../shared/rate-limit/index.ts';
import { createStorageRateLimitStore, type Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';
import { redisCaOf } from './replay-cache.ts';

/**
 * The platform's shared rate-limit counters (issue 16): Redis when `replayCache.redisUrl` / `ACCREDIT_REDIS_URL`
 * is set (the same Redis as the replay cache, its own key prefix), else the platform database — either way
 * every node takes from the same counters.
 */
export function openRateLimitStore(config: PlatformConfig, storage: Storage, logger: Logger): RateLimitStore {
  const redisUrl = config.replayCache?.redisUrl;
  if (!redisUrl) return createStorageRateLimitStore(storage.db);
  // The URL may carry a password: never logged; the error message names only the failure.
  const ca = redisCaOf(config);
  return createRedisRateLimitStore(redisUrl, {
    ...(ca !== undefined ? { ca } : {}),
    onError: (err) => logger.warn({ error: err.message }, 'rate limits: Redis connection error'),
  });
}
