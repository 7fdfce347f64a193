import { Redis, type RedisOptions } from 'ioredis';
import { admitted, GCRA_EPSILON_MS, type RateLimitTake, refused, uncounted } from './gcra.ts';
import { checkTakeAllArguments, checkTakeArguments, type RateLimitStore } from './rate-limit-store.ts';

// GCRA over every limit of a request in one script: Redis runs it atomically, so concurrent takes on any node
// see each other's TAT, and the request is counted on every key or on none. First every key is checked, then,
// only if every one admits, every one is moved on. ARGV: now, epsilon, then per key its interval and window.
// The TATs travel as strings (a Lua number would be truncated to an integer in the reply); a key expires when
// its TAT passes (its quota is whole again), so Redis forgets idle keys by itself. Reply: {1|0, base or TAT…}.
const TAKE_ALL = `
local now = tonumber(ARGV[1])
local epsilon = tonumber(ARGV[2])
local bases = {}
local admit = 1
for i = 1, #KEYS do
  local stored = tonumber(redis.call('GET', KEYS[i]))
  local interval = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local base = now
  if stored ~= nil and stored > now then base = stored end
  bases[i] = base
  if base + interval - now > window + epsilon then admit = 0 end
end
local reply = {admit}
for i = 1, #KEYS do
  if admit == 1 then
    local tat = bases[i] + tonumber(ARGV[1 + 2 * i])
    redis.call('SET', KEYS[i], string.format('%.6f', tat), 'PX', math.max(1, math.ceil(tat - now)))
    reply[i + 1] = string.format('%.6f', tat)
  else
    reply[i + 1] = string.format('%.6f', bases[i])
  end
end
return reply
`;

export interface RedisRateLimitStoreOptions {
  prefix?: string;
  now?: () => number;
  onError?: (err: Error) => void;
  /**
   * PEM CA certificates a `rediss://` server's certificate must chain to (default: Node's public CAs). Refused
   * with a `redis://` URL: a CA without TLS would be silently ignored.
   */
  ca?: string;
  /** Milliseconds a connection attempt may take before it fails (ioredis default 10 000). */
  connectTimeoutMs?: number;
  /** Milliseconds a take may wait for Redis's answer before it fails (default: no limit but the connection's). */
  commandTimeoutMs?: number;
}

/** Checks a Redis URL (and its CA option) before anything connects: a TypeError naming what is wrong. */
export function checkRedisUrl(url: string, ca?: string): void {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url) || !URL.canParse(url)) {
    throw new TypeError('expected a redis:// or rediss:// URL');
  }
  if (new URL(url).hostname === '') throw new TypeError('the Redis URL has no host');
  if (ca !== undefined && !url.startsWith('rediss://')) {
    throw new TypeError('a Redis CA bundle needs a rediss:// (TLS) URL');
  }
}

/**
 * Rate-limit counters on Redis (`redis.url` / `--redis-url` / the Lambda's `ACCREDIT_REDIS_URL`): shared by every
 * node on that Redis. Keys are prefixed so the counters can share a Redis with other data (the replay cache).
 * A request's limits are one script call on one Redis (not Redis Cluster: the keys of a take may hash to
 * different slots). The clock is the node's (nodes keep NTP time, as token validation already requires).
 */
export function createRedisRateLimitStore(
  url: string,
  options: RedisRateLimitStoreOptions = {},
): RateLimitStore {
  if (options.ca !== undefined) checkRedisUrl(url, options.ca);
  const prefix = options.prefix ?? 'accredit:ratelimit:';
  const now = options.now ?? Date.now;
  // A take waits through one reconnection attempt at most, then fails: the caller applies its fail-open or
  // fail-closed rule; a request never hangs on an unreachable Redis.
  const redisOptions: RedisOptions = { maxRetriesPerRequest: 1 };
  if (options.ca !== undefined) redisOptions.tls = { ca: options.ca };
  if (options.connectTimeoutMs !== undefined) redisOptions.connectTimeout = options.connectTimeoutMs;
  if (options.commandTimeoutMs !== undefined) redisOptions.commandTimeout = options.commandTimeoutMs;
  const redis = new Redis(url, redisOptions);
  redis.on('error', (err: Error) => options.onError?.(err));
  redis.defineCommand('accreditRateLimitTakeAll', { lua: TAKE_ALL });
  const run = (
    redis as unknown as {
      accreditRateLimitTakeAll(numberOfKeys: number, ...args: string[]): Promise<string[] | number[]>;
    }
  ).accreditRateLimitTakeAll.bind(redis);
  const takeAll: RateLimitStore['takeAll'] = async (requests) => {
    const t = now();
    const intervals = requests.map((r) => r.windowMs / r.quota);
    const args: string[] = [String(t), String(GCRA_EPSILON_MS)];
    for (const [i, r] of requests.entries()) args.push(String(intervals[i]), String(r.windowMs));
    const reply = await run(requests.length, ...requests.map((r) => `${prefix}${r.key}`), ...args);
    const ok = Number(reply[0]) === 1;
    return requests.map((r, i) => {
      const value = Number(reply[i + 1]);
      const interval = intervals[i] as number;
      if (ok) return admitted(value, t, r.windowMs, interval);
      // Refused: `value` is each key's current base (its TAT, or now); the keys with room were not counted.
      return value + interval - t <= r.windowMs + GCRA_EPSILON_MS
        ? uncounted(value, t, r.windowMs, interval)
        : refused(value, t, r.windowMs, interval);
    });
  };
  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      return (await takeAll([{ key, quota, windowMs }]))[0] as RateLimitTake;
    },
    async takeAll(requests) {
      checkTakeAllArguments(requests);
      return takeAll(requests);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
