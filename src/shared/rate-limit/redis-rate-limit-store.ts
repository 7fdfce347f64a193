import { Redis } from 'ioredis';
import { admitted, emissionInterval, GCRA_EPSILON_MS, refused } from './gcra.ts';
import { checkTakeArguments, type RateLimitStore } from './rate-limit-store.ts';

// GCRA in one script: Redis runs it atomically, so concurrent takes on any node see each other's TAT. The
// TAT travels as a string (a Lua number would be truncated to an integer in the reply); the key expires when
// its TAT passes (its quota is whole again), so Redis forgets idle keys by itself.
const TAKE = `
local stored = tonumber(redis.call('GET', KEYS[1]))
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local epsilon = tonumber(ARGV[4])
local base = now
if stored ~= nil and stored > now then base = stored end
local tat = base + interval
if tat - now <= window + epsilon then
  redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.max(1, math.ceil(tat - now)))
  return {1, string.format('%.6f', tat)}
end
return {0, string.format('%.6f', base)}
`;

/**
 * Rate-limit counters on Redis (`redis.url` / `--redis-url`): shared by every node on that Redis. Keys are
 * prefixed so the counters can share a Redis with other data (the replay cache). The clock is the node's
 * (nodes keep NTP time, as token validation already requires).
 */
export function createRedisRateLimitStore(
  url: string,
  options: { prefix?: string; now?: () => number; onError?: (err: Error) => void } = {},
): RateLimitStore {
  const prefix = options.prefix ?? 'accredit:ratelimit:';
  const now = options.now ?? Date.now;
  // A take waits through one reconnection attempt at most, then fails: the caller applies its fail-open or
  // fail-closed rule; a request never hangs on an unreachable Redis.
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', (err: Error) => options.onError?.(err));
  redis.defineCommand('accreditRateLimitTake', { numberOfKeys: 1, lua: TAKE });
  const run = (
    redis as unknown as {
      accreditRateLimitTake(key: string, ...args: string[]): Promise<[number, string]>;
    }
  ).accreditRateLimitTake.bind(redis);
  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      const t = now();
      const interval = emissionInterval(quota, windowMs);
      const [ok, tatText] = await run(
        `${prefix}${key}`,
        String(t),
        String(interval),
        String(windowMs),
        String(GCRA_EPSILON_MS),
      );
      const tat = Number(tatText);
      return ok === 1 ? admitted(tat, t, windowMs, interval) : refused(tat, t, windowMs, interval);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
