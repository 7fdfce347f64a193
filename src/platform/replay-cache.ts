import { readFileSync } from 'node:fs';
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
  const ca = redisCaOf(config);
  return createRedisReplayCache(redisUrl, {
    ...(ca !== undefined ? { ca } : {}),
    onError: (err) => logger.warn({ error: err.message }, 'replay cache: Redis connection error'),
  });
}

/** The PEM bundle of `replayCache.redisCaFile` (checked to exist at start), for a rediss:// Redis. */
export function redisCaOf(config: PlatformConfig): string | undefined {
  const file = config.replayCache?.redisCaFile;
  if (file === undefined) return undefined;
  const pem = readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`replayCache.redisCaFile: ${file} holds no PEM certificate`);
  }
  return pem;
}
