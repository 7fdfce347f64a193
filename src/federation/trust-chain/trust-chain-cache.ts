/**
 * Where the resolver keeps fetched statements and resolved chains until they expire (§10.2, §10.4). Times are
 * seconds since the epoch from the resolver's injected clock; an implementation never reads a clock of its own.
 * Every implementation passes `test/federation/contracts/trust-chain-cache.contract.ts`.
 */
export interface TrustChainCache {
  /** The value stored under `key`, or undefined when there is none or it expired at or before `nowSeconds`. */
  get(key: string, nowSeconds: number): unknown;
  /** Stores `value` under `key` until `expiresAt`, replacing whatever was there. */
  set(key: string, value: unknown, expiresAt: number): void;
  delete(key: string): void;
}
