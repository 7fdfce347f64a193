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

/**
 * What a limit reports when it had room but the request was refused by another limit of the same multi-take:
 * nothing was counted; `remaining` is what is left right now, `stored` the TAT that stays.
 */
export function uncounted(stored: number, now: number, windowMs: number, interval: number): RateLimitTake {
  const base = Math.max(stored, now);
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor((windowMs - (base - now) + GCRA_EPSILON_MS) / interval)),
    resetMs: Math.max(0, base - now),
    retryAfterMs: 0,
  };
}

/**
 * One all-or-nothing take on several keys whose TATs are held in memory (or read under a lock): admitted only
 * if every limit admits it; then `tats` are the TATs to store, in the order given. Refused: `tats` is
 * undefined, nothing is to be stored, the limits that refused say so and the others report what they have left.
 */
export function takeAll(
  stored: ReadonlyArray<number | undefined>,
  now: number,
  limits: ReadonlyArray<{ quota: number; windowMs: number }>,
): { takes: RateLimitTake[]; tats: number[] | undefined } {
  const intervals = limits.map((l) => emissionInterval(l.quota, l.windowMs));
  const tats = limits.map((_, i) => nextTat(stored[i], now, intervals[i] as number));
  const fits = limits.map((l, i) => admits(tats[i] as number, now, l.windowMs));
  if (fits.every(Boolean)) {
    return {
      takes: limits.map((l, i) => admitted(tats[i] as number, now, l.windowMs, intervals[i] as number)),
      tats,
    };
  }
  return {
    takes: limits.map((l, i) =>
      fits[i]
        ? uncounted(stored[i] ?? now, now, l.windowMs, intervals[i] as number)
        : refused(stored[i] ?? now, now, l.windowMs, intervals[i] as number),
    ),
    tats: undefined,
  };
}
