import type { TrustChainCache } from './trust-chain-cache.ts';

export interface MemoryTrustChainCacheOptions {
  /** Entries kept; the least recently stored go first. Default 10 000. */
  maxEntries?: number;
}

/** In-process `TrustChainCache`: a bounded map, entries dropped when read after their expiry. */
export function createMemoryTrustChainCache(options: MemoryTrustChainCacheOptions = {}): TrustChainCache {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new TypeError('maxEntries must be a positive integer');
  const entries = new Map<string, { value: unknown; expiresAt: number }>();
  return {
    get(key, nowSeconds) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= nowSeconds) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, expiresAt) {
      entries.delete(key);
      entries.set(key, { value, expiresAt });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    delete(key) {
      entries.delete(key);
    },
  };
}
