import { type RateLimitTake, takeAll } from './gcra.ts';

export type { RateLimitTake } from './gcra.ts';

/** One limit of a request: `quota` requests per `windowMs` on `key`. */
export interface RateLimitTakeRequest {
  key: string;
  quota: number;
  windowMs: number;
}

/** A request has at most this many limits in one take (the decision core sends at most 2 kinds × 4 windows). */
export const RATE_LIMIT_MAX_KEYS_PER_TAKE = 16;

/**
 * Where rate-limit counters live: in this process (one node), or shared by every node (the platform database,
 * Redis). GCRA (`gcra.ts`), atomic per take: of N concurrent takes on a key with `quota` left, at most `quota`
 * are admitted, on any node. Every implementation passes `test/shared/rate-limit.contract.ts`.
 */
export interface RateLimitStore {
  /** Takes one request from `key`'s window of `quota` requests per `windowMs`. Rejects when the store fails. */
  take(key: string, quota: number, windowMs: number): Promise<RateLimitTake>;
  /**
   * Takes one request from every limit of a request, all or nothing, atomically on every node: the request is
   * counted only if every limit admits it (every answer `allowed`). Refused, nothing is counted anywhere: the
   * limits that refused answer `allowed: false` with their retry time; the others answer `allowed: true` with
   * what they have left (not counted). Answers in the order given; keys must be distinct. Rejects when the
   * store fails (nothing counted).
   */
  takeAll(requests: readonly RateLimitTakeRequest[]): Promise<RateLimitTake[]>;
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

/** Validates a multi-take: 1 to RATE_LIMIT_MAX_KEYS_PER_TAKE limits, each valid, no key twice. */
export function checkTakeAllArguments(requests: readonly RateLimitTakeRequest[]): void {
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > RATE_LIMIT_MAX_KEYS_PER_TAKE) {
    throw new TypeError('rate limit takes');
  }
  const keys = new Set<string>();
  for (const r of requests) {
    checkTakeArguments(r?.key, r?.quota, r?.windowMs);
    if (keys.has(r.key)) throw new TypeError('rate limit key taken twice');
    keys.add(r.key);
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
  // Check every limit, then commit every one: one synchronous step, so no other take runs in between.
  const takeAllNow = (requests: readonly RateLimitTakeRequest[]): RateLimitTake[] => {
    const t = now();
    if (t >= sweepAt || tats.size >= max) sweep(t);
    const result = takeAll(
      requests.map((r) => tats.get(r.key)),
      t,
      requests,
    );
    if (result.tats !== undefined) {
      for (const [i, r] of requests.entries()) {
        // Full of live keys: the oldest is forgotten (its holder gets a fresh quota), never an unbounded map.
        if (!tats.has(r.key) && tats.size >= max) {
          const oldest = tats.keys().next().value;
          if (oldest !== undefined) tats.delete(oldest);
        }
        tats.set(r.key, result.tats[i] as number);
      }
    }
    return result.takes;
  };
  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      return takeAllNow([{ key, quota, windowMs }])[0] as RateLimitTake;
    },
    async takeAll(requests) {
      checkTakeAllArguments(requests);
      return takeAllNow(requests);
    },
    async close() {
      tats.clear();
    },
  };
}
