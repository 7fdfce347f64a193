import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
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

export interface JwksResolver {
  getKey: JWTVerifyGetKey;
  /** The last good key set and its version (one more on every load), for verification threads. */
  document(): { version: number; jwks: JSONWebKeySet } | undefined;
  /** Starts a background refresh when the set is older than maxAgeMs, as every getKey call does. */
  freshen(): void;
  /** Fetches the set now (single flight); rejects when the JWKS endpoint cannot be read. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export class JwksUnavailableError extends Error {
  readonly code = 'ERR_GATEWAY_JWKS_UNAVAILABLE';
}

const MAX_JWKS_BYTES = 512 * 1024;

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
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let current: { version: number; jwks: JSONWebKeySet } | undefined;
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
    try {
      local = createLocalJWKSet(body as JSONWebKeySet);
      current = { version: (current?.version ?? 0) + 1, jwks: body as JSONWebKeySet };
    } catch (err) {
      // jose refuses a set whose members are not JWK objects: the AS's keys are unusable, not the token.
      throw new JwksUnavailableError('JWKS document is not a valid JWK Set (RFC 7517 §5)', { cause: err });
    }
    fetchedAt = performance.now();
  }

  function refresh(): Promise<void> {
    inFlight ??= load().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function freshen(): void {
    if (performance.now() - fetchedAt > options.maxAgeMs && !inFlight) {
      refresh().catch(() => {
        // Kept serving from the last good set; the next unknown kid or stale check retries.
      });
    }
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!local) await refresh();
    freshen();
    const keys = local as NonNullable<typeof local>;
    try {
      return await keys(header, token);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ERR_JWKS_NO_MATCHING_KEY' || performance.now() - attemptedAt < options.cooldownMs)
        throw err;
      try {
        await refresh();
      } catch {
        throw err;
      }
      return (local as NonNullable<typeof local>)(header, token);
    }
  };

  return {
    getKey,
    document: () => current,
    freshen,
    refresh,
    async close() {
      await dispatcher.close();
    },
  };
}
