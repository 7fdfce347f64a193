import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { JWK } from 'jose';
import { Agent, fetch } from 'undici';

export interface JwksResolverOptions {
  uri: string;
  /** PEM bundle to trust for the JWKS fetch (our own CA); the system store when absent. */
  ca: string | undefined;
  /** Least time between two fetches triggered by an unknown `kid`. */
  cooldownMs: number;
  /** Keys older than this are refreshed in the background; the old set keeps serving meanwhile. */
  maxAgeMs: number;
  timeoutMs: number;
}

/**
 * One usable key of the set: its JWK members that select it (RFC 7517 §4) and its SPKI PEM, made once per
 * fetched set with node:crypto, so verifiers built on it keep one KeyObject per key.
 */
export interface VerificationKey {
  kid: string | undefined;
  kty: string;
  /** EC curve or OKP subtype (P-256, Ed25519, …); undefined for RSA. */
  crv: string | undefined;
  alg: string | undefined;
  spkiPem: string;
  /** Per-key memo for the verifier (e.g. a compiled verification function), dropped with the set. */
  memo: Map<string, unknown>;
}

export interface JwksResolver {
  /** The last good set's keys; fetched first if none was read yet (rejects when it cannot be). */
  keys(): readonly VerificationKey[] | Promise<readonly VerificationKey[]>;
  /**
   * A token named no key of the set: refetches when the cooldown allows (key rotation), so forged kids
   * cannot make the gateway hammer the endpoint. Resolves with the new set, or undefined when not refetched.
   */
  refetchForUnknownKey(): Promise<readonly VerificationKey[] | undefined>;
  /** Fetches the set now (single flight); rejects when the JWKS endpoint cannot be read. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export class JwksUnavailableError extends Error {
  readonly code = 'ERR_GATEWAY_JWKS_UNAVAILABLE';
}

const MAX_JWKS_BYTES = 512 * 1024;

/**
 * The keys a JWS can be verified with: public keys meant for signatures (`use` absent or sig, `key_ops`
 * absent or with verify); a member node:crypto cannot import is skipped, as jose's local sets do.
 */
export function verificationKeys(set: { keys: unknown[] }): VerificationKey[] {
  const out: VerificationKey[] = [];
  for (const raw of set.keys) {
    if (typeof raw !== 'object' || raw === null) continue;
    const jwk = raw as JWK;
    if (typeof jwk.kty !== 'string' || jwk.d !== undefined || jwk.kty === 'oct') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
      continue;
    if (jwk.kid !== undefined && typeof jwk.kid !== 'string') continue;
    if (jwk.alg !== undefined && typeof jwk.alg !== 'string') continue;
    let spkiPem: string;
    try {
      spkiPem = createPublicKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput)
        .export({ type: 'spki', format: 'pem' })
        .toString();
    } catch {
      continue;
    }
    out.push({
      kid: jwk.kid,
      kty: jwk.kty,
      crv: typeof jwk.crv === 'string' ? jwk.crv : undefined,
      alg: jwk.alg,
      spkiPem,
      memo: new Map(),
    });
  }
  return out;
}

/**
 * The authorization server's keys, cached: fetched on first use, refreshed in the background when old,
 * and refetched on an unknown `kid` (key rotation) at most once per cooldown so forged kids cannot make
 * the gateway hammer the JWKS endpoint. A failed refresh keeps the last good set.
 */
export function createJwksResolver(options: JwksResolverOptions): JwksResolver {
  const dispatcher = new Agent({
    connect: options.ca ? { ca: options.ca } : {},
    connections: 2,
  });
  let local: readonly VerificationKey[] | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  async function load(): Promise<void> {
    attemptedAt = performance.now();
    let body: unknown;
    try {
      const response = await fetch(options.uri, {
        dispatcher,
        redirect: 'manual',
        headers: { accept: 'application/jwk-set+json, application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`JWKS endpoint answered ${response.status}`);
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS document is too large');
      body = JSON.parse(text);
    } catch (err) {
      throw new JwksUnavailableError(`JWKS could not be fetched: ${(err as Error).message}`, { cause: err });
    }
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
      throw new JwksUnavailableError('JWKS document has no keys array (RFC 7517 §5)');
    }
    local = verificationKeys(body as { keys: unknown[] });
    fetchedAt = performance.now();
  }

  function refresh(): Promise<void> {
    inFlight ??= load().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function staleCheck(): void {
    if (performance.now() - fetchedAt > options.maxAgeMs && !inFlight) {
      refresh().catch(() => {
        // Kept serving from the last good set; the next unknown kid or stale check retries.
      });
    }
  }

  function keys(): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    if (!local) return refresh().then(() => local as readonly VerificationKey[]);
    staleCheck();
    return local;
  }

  async function refetchForUnknownKey(): Promise<readonly VerificationKey[] | undefined> {
    if (performance.now() - attemptedAt < options.cooldownMs) return undefined;
    try {
      await refresh();
    } catch {
      return undefined;
    }
    return local;
  }

  return {
    keys,
    refetchForUnknownKey,
    refresh,
    async close() {
      await dispatcher.close();
    },
  };
}
