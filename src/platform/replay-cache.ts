import type { Logger } from 'pino';
import { createRedisReplayCache, type ReplayCache } from '../shared/replay-cache/index.ts';
import { createStorageReplayCache, type Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';

/**
 * The platform's shared replay cache (DPoP proof `jti`s, RFC 9449 §11.1): Redis when `replayCache.redisUrl` /
 * `ACCREDIT_REDIS_URL` is set, else the platform database — either way every node sees every claim.
 */
export function openReplayCache(config: PlatformConfig, storage: Storage, logger: Logger): ReplayCache {
  const redisUrl = config.replayCache?.redisUrl;
  if (!redisUrl) return createStorageReplayCache(storage.db);
  // The URL may carry a password: never logged; the error message names only the failure.
  return createRedisReplayCache(redisUrl, {
    onError: (err) => logger.warn({ error: err.message }, 'replay cache: Redis connection error'),
  });
}
