/**
 * GCRA (the generic cell rate algorithm, as ATM and many API gateways use it): a limit of `quota` requests per
 * `windowMs` is one number per key, the theoretical arrival time (TAT). Each request moves it on by the
 * emission interval `T = windowMs / quota`; a request is admitted while the TAT it would leave is at most one
 * window ahead of now. So the whole quota may be used at once (a burst of `quota`), after which requests are
 * admitted one per `T`: a sliding window, without the double burst of fixed windows at their boundary, and
 * exact (no approximation) with one stored number per key. Every store implements the same arithmetic; the
 * shared ones in one atomic step (a conditional upsert, a Lua script).
 */

/** The result of taking one request from a key's window. */
export interface RateLimitTake {
  allowed: boolean;
  /** Requests still admitted at once after this one (0 when refused). */
  remaining: number;
  /** Milliseconds until the whole quota is available again. */
  resetMs: number;
  /** Milliseconds until one request is admitted again; 0 when this one was. */
  retryAfterMs: number;
}

/** Floating-point slack, in ms: `quota` takes of `windowMs / quota` must fit the window exactly. */
export const GCRA_EPSILON_MS = 0.001;

export function emissionInterval(quota: number, windowMs: number): number {
  return windowMs / quota;
}

/** The TAT a take would leave, from the stored one (undefined: never taken, or forgotten as full). */
export function nextTat(stored: number | undefined, now: number, interval: number): number {
  return (stored !== undefined && stored > now ? stored : now) + interval;
}

export function admits(tat: number, now: number, windowMs: number): boolean {
  return tat - now <= windowMs + GCRA_EPSILON_MS;
}

/** The answer of an admitted take that left `tat`. */
export function admitted(tat: number, now: number, windowMs: number, interval: number): RateLimitTake {
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor((windowMs - (tat - now) + GCRA_EPSILON_MS) / interval)),
    resetMs: Math.max(0, tat - now),
    retryAfterMs: 0,
  };
}

/** The answer of a refused take; `stored` is the TAT that stays (the refusal does not move it). */
export function refused(stored: number, now: number, windowMs: number, interval: number): RateLimitTake {
  return {
    allowed: false,
    remaining: 0,
    resetMs: Math.max(0, stored - now),
    retryAfterMs: Math.max(1, stored + interval - windowMs - now),
  };
}

/** One take on a value held in memory (or read under a lock): the new TAT to store when admitted. */
export function take(
  stored: number | undefined,
  now: number,
  quota: number,
  windowMs: number,
): { take: RateLimitTake; tat: number | undefined } {
  const interval = emissionInterval(quota, windowMs);
  const tat = nextTat(stored, now, interval);
  if (admits(tat, now, windowMs)) return { take: admitted(tat, now, windowMs, interval), tat };
  return { take: refused(stored ?? now, now, windowMs, interval), tat: undefined };
}
