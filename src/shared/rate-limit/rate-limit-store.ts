import { type RateLimitTake, take } from './gcra.ts';

export type { RateLimitTake } from './gcra.ts';

/**
 * Where rate-limit counters live: in this process (one node), or shared by every node (the platform database,
 * Redis). One operation, `take`, atomic per key (GCRA, `gcra.ts`): of N concurrent takes on a key with
 * `quota` left, at most `quota` are admitted, on any node. Every implementation passes
 * `test/shared/rate-limit.contract.ts`.
 */
export interface RateLimitStore {
  /** Takes one request from `key`'s window of `quota` requests per `windowMs`. Rejects when the store fails. */
  take(key: string, quota: number, windowMs: number): Promise<RateLimitTake>;
  close(): Promise<void>;
}

/** Validates the arguments every store takes: a positive integer quota, a window of 1 ms to 1 year. */
export function checkTakeArguments(key: string, quota: number, windowMs: number): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new TypeError('rate limit key');
  if (!Number.isSafeInteger(quota) || quota < 1) throw new TypeError('rate limit quota');
  if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > 366 * 86_400_000) {
    throw new TypeError('rate limit window');
  }
}

/** In this process only: one node (a single standalone gateway, the embedded default) and tests. */
export function createMemoryRateLimitStore(
  options: { maxKeys?: number; now?: () => number } = {},
): RateLimitStore {
  const max = options.maxKeys ?? 1_000_000;
  const now = options.now ?? Date.now;
  const tats = new Map<string, number>();
  let sweepAt = 0;
  const sweep = (t: number) => {
    // A key whose TAT is past holds its whole quota again: forgetting it changes nothing.
    for (const [key, tat] of tats) if (tat <= t) tats.delete(key);
    sweepAt = t + 10_000;
  };
  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      const t = now();
      if (t >= sweepAt || tats.size >= max) sweep(t);
      const result = take(tats.get(key), t, quota, windowMs);
      if (result.tat !== undefined) {
        // Full of live keys: the oldest is forgotten (its holder gets a fresh quota), never an unbounded map.
        if (!tats.has(key) && tats.size >= max) {
          const oldest = tats.keys().next().value;
          if (oldest !== undefined) tats.delete(oldest);
        }
        tats.set(key, result.tat);
      }
      return result.take;
    },
    async close() {
      tats.clear();
    },
  };
}
