/**
 * A replay cache: remembers one-time values (DPoP proof `jti`s, RFC 9449 §11.1) until they expire, so that a value
 * seen once is refused the second time — on this node and, for the shared implementations (PostgreSQL, Redis),
 * on every node. Every implementation passes `test/shared/replay-cache.contract.ts`.
 */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAtMs` (epoch ms). True when it was not seen before (the caller may go on),
   * false when it was (a replay). Must be atomic: of two concurrent claims of one key, exactly one wins.
   */
  claim(key: string, expiresAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** In this process only: for one node (the embedded default, a single standalone gateway) and tests. */
export function createMemoryReplayCache(
  options: { maxEntries?: number; now?: () => number } = {},
): ReplayCache {
  const max = options.maxEntries ?? 1_000_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  let sweepAt = 0;
  const sweep = (t: number) => {
    for (const [key, exp] of seen) if (exp <= t) seen.delete(key);
    sweepAt = t + 10_000;
  };
  return {
    async claim(key, expiresAtMs) {
      const t = now();
      if (t >= sweepAt || seen.size >= max) sweep(t);
      const exp = seen.get(key);
      if (exp !== undefined && exp > t) return false;
      // Full of live entries: refuse rather than forget one (forgetting would let a replay through).
      if (seen.size >= max) return false;
      seen.set(key, expiresAtMs);
      return true;
    },
    async close() {
      seen.clear();
    },
  };
}
