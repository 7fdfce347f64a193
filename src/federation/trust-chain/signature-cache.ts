import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  type JWK,
} from 'jose';
import { FEDERATION_SIGNING_ALGORITHMS } from '../constants.ts';

/** A map of at most `max` entries; the least recently used goes first. */
class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** One public JWK as jose selects and imports it. */
export interface CachedKey {
  /**
   * jose's selection for this key alone (`createLocalJWKSet`): the header's alg must suit the key (kty, crv,
   * `alg`, `use`, `key_ops`); the key is imported once per alg and kept.
   */
  readonly select: ReturnType<typeof createLocalJWKSet>;
  /** RFC 7638 thumbprint of the key material; undefined when jose computes none (nothing is then memoised). */
  readonly thumbprint: Promise<string | undefined>;
}

/** Distinct JWKs kept with their imported keys; each costs one import (~100 µs) when first used. */
const MAX_KEYS = 1024;
const keys = new BoundedMap<string, CachedKey>(MAX_KEYS);

/**
 * The imported key for `jwk`, from a process-wide bounded cache keyed by the JWK's exact JSON (so a JWK that
 * differs in any member, `kid`, `alg`, `use` or `key_ops` included, is its own entry and is selected on its own
 * terms). Throws jose's `JWKSInvalid` when the JWK is not one.
 */
export function cachedKey(jwk: JWK): CachedKey {
  const id = JSON.stringify(jwk);
  let entry = keys.get(id);
  if (entry === undefined) {
    const select = createLocalJWKSet({ keys: [jwk] });
    entry = {
      select,
      thumbprint: calculateJwkThumbprint(jwk, 'sha256').catch(() => undefined),
    };
    keys.set(id, entry);
  }
  return entry;
}

/**
 * Signature results already established for (JWT, key) pairs. A statement's signature never changes, so a pair
 * that verified once verifies again: a hit spares only the repeated public-key operation, never the key's
 * selection (kid, alg allow-list, alg/kty/crv/use fit), which is done on every call.
 */
export interface VerificationMemo {
  /** The pending or settled verification of `key`, or undefined. */
  get(key: string): Promise<void> | undefined;
  set(key: string, verification: Promise<void>): void;
  delete(key: string): void;
  readonly size: number;
}

/** A bounded memo of successful verifications (failed ones are forgotten at once); default 4096 entries. */
export function createVerificationMemo(maxEntries = 4096): VerificationMemo {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new TypeError('maxEntries must be a positive integer');
  return new BoundedMap<string, Promise<void>>(maxEntries);
}

const ALGORITHMS: readonly string[] = FEDERATION_SIGNING_ALGORITHMS;

/**
 * Verifies the compact JWS `jwt` with `key` (one of `cachedKey`), restricted to the federation's signing
 * algorithms, throwing jose's errors (`JWKSNoMatchingKey` when the key does not suit the header's alg). With a
 * memo, a (JWT, key thumbprint) pair is verified once: the memo key binds the SHA-256 of the whole JWT (header,
 * payload and signature) to the key material, so no other statement and no other key can hit it.
 */
export async function verifyWithKey(jwt: string, key: CachedKey, memo?: VerificationMemo): Promise<void> {
  const header = decodeProtectedHeader(jwt);
  if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) {
    // Refused by compactVerify's allow-list, as any verification of it would be; nothing to memoise.
    await compactVerify(jwt, key.select, { algorithms: [...ALGORITHMS] });
    return;
  }
  const cryptoKey = await key.select(header);
  const thumbprint = memo === undefined ? undefined : await key.thumbprint;
  if (memo === undefined || thumbprint === undefined) {
    await compactVerify(jwt, cryptoKey, { algorithms: [...ALGORITHMS] });
    return;
  }
  const memoKey = `${thumbprint}.${createHash('sha256').update(jwt).digest('base64url')}`;
  let verification = memo.get(memoKey);
  if (verification === undefined) {
    verification = compactVerify(jwt, cryptoKey, { algorithms: [...ALGORITHMS] }).then(() => undefined);
    memo.set(memoKey, verification);
    verification.catch(() => {
      if (memo.get(memoKey) === verification) memo.delete(memoKey);
    });
  }
  await verification;
}
