/** How failed deliveries are retried: a delay schedule (seconds) and a window after which they are dead. */
export interface RetryPolicy {
  /** Delay after the 1st, 2nd, … failed attempt; its length + 1 is the number of attempts. */
  scheduleSeconds: readonly number[];
  /** A delivery is dead once its next attempt would fall this long after its window started. */
  maxAgeMs: number;
}

/** The longest `Retry-After` honoured (6 h); a longer one waits this long. */
export const MAX_RETRY_AFTER_SECONDS = 6 * 3600;

/** 10 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h: eight attempts within a day. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [10, 60, 300, 1800, 7200, 18_000, 36_000] as const;

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
  maxAgeMs: 24 * 3600_000,
};

/**
 * When the attempt after failed attempt number `attempt` (1-based) is due, or undefined when there is none
 * (schedule exhausted, or beyond the window): the delivery is then dead. The delay is jittered by ±20 % so
 * that deliveries failed together (a receiver outage) do not all come back at the same instant, and
 * stretched to the receiver's `Retry-After` when it asked for longer.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempt: number,
  now: Date,
  windowStartedAt: Date,
  random: () => number = Math.random,
  retryAfterSeconds?: number,
): Date | undefined {
  const base = policy.scheduleSeconds[attempt - 1];
  if (base === undefined) return undefined;
  const jitter = 0.8 + 0.4 * random();
  // A receiver's Retry-After (429, 503) is honoured when later than the schedule, up to MAX_RETRY_AFTER.
  const wanted = Math.min(retryAfterSeconds ?? 0, MAX_RETRY_AFTER_SECONDS) * 1000;
  const at = new Date(now.getTime() + Math.max(Math.round(base * 1000 * jitter), wanted));
  if (at.getTime() - windowStartedAt.getTime() > policy.maxAgeMs) return undefined;
  return at;
}
