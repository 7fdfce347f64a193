interface Entry<T> {
  value: T;
  expiresAtMs: number;
}

export interface TokenCache<T> {
  get(key: string, nowMs: number): T | undefined;
  set(key: string, value: T, expiresAtMs: number): void;
  readonly size: number;
}

/**
 * A bounded map of verified tokens: an entry is served only before its expiry and the oldest insertion is
 * evicted first (a Map iterates in insertion order), so memory stays capped under a flood of new tokens.
 */
export function createTokenCache<T>(maxEntries: number): TokenCache<T> {
  const entries = new Map<string, Entry<T>>();
  return {
    get(key, nowMs) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (nowMs >= entry.expiresAtMs) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, expiresAtMs) {
      if (maxEntries <= 0) return;
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAtMs });
    },
    get size() {
      return entries.size;
    },
  };
}
