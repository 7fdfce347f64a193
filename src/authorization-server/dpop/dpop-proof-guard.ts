import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { ReplayCache } from '../../shared/replay-cache/index.ts';

/**
 * How long a proof is acceptable after its `iat` (RFC 9449 §11.1 leaves the window to the server). oidc-provider
 * uses the same 300 s for proofs without a nonce; here it holds for every proof, nonce or not.
 */
export const DPOP_PROOF_MAX_AGE_SECONDS = 300;

/** Longest `jti` accepted: a proof is a few hundred bytes, and the replay cache stores a hash of it anyway. */
const MAX_JTI_LENGTH = 256;

/** The server-nonce secret (RFC 9449 §9), derived from the KEK: the same on every node, never stored. */
export function deriveDpopNonceSecret(kek: string): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, 'accredit', 'dpop nonces v1', 32));
}

const dpopRequest = new AsyncLocalStorage<true>();

/**
 * True while oidc-provider serves a token request that carries a DPoP proof. Such a token is bound to the proof's
 * key (RFC 9449 §5, `cnf.jkt`); a certificate the client presents then only authenticates it (RFC 8705 §2): a
 * token carries one confirmation, and the client chose DPoP.
 */
export function bindsToDpopKey(): boolean {
  return dpopRequest.getStore() === true;
}

export interface DpopProofGuardOptions {
  replayCache: ReplayCache;
  clock: Clock;
  /** Token and PAR endpoint paths. */
  paths: { token: string; par: string };
  algorithms: readonly string[];
  skewSeconds: number;
  logger: Logger;
}

function refuse(ctx: KoaContextWithOIDC, description: string): void {
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'json';
  ctx.body = { error: 'invalid_dpop_proof', error_description: description };
}

/**
 * Middleware in front of oidc-provider's token and PAR endpoints, for the RFC 9449 §4.3 checks it does not make
 * itself or does not make across nodes:
 * - one DPoP header only (§4.3 step 1);
 * - `iat` not in the future beyond the clock skew, and not older than 300 s even with a nonce (§4.3 step 11);
 * - `jti` seen once across every node, through the shared replay cache (§11.1), refused as `invalid_dpop_proof`
 *   (oidc-provider's own check is per-adapter find-then-save, not atomic, and answers `invalid_grant`).
 * A proof whose signature, `typ`, `alg` or key does not verify is left to oidc-provider, which answers
 * `invalid_dpop_proof` for it; htm, htu and the nonce (`use_dpop_nonce` with a `DPoP-Nonce` header) likewise.
 */
export function createDpopProofGuard(options: DpopProofGuardOptions) {
  const { replayCache, clock, paths } = options;
  const algorithms = [...options.algorithms];
  return async function dpopProofGuard(ctx: KoaContextWithOIDC, next: () => Promise<unknown>) {
    if (ctx.method !== 'POST' || (ctx.path !== paths.token && ctx.path !== paths.par)) return next();
    const header = ctx.req.headers.dpop;
    if (header === undefined) return next();
    // Node joins repeated headers with ", "; a compact JWS never holds a comma or a space.
    if (Array.isArray(header) || /[,\s]/.test(header)) {
      return refuse(ctx, 'more than one DPoP header (RFC 9449 §4.3)');
    }
    let verified: Awaited<ReturnType<typeof jwtVerify>> | undefined;
    try {
      verified = await jwtVerify(header, EmbeddedJWK, { typ: 'dpop+jwt', algorithms });
    } catch {
      verified = undefined;
    }
    // Not a valid proof: oidc-provider refuses it with invalid_dpop_proof and its own description.
    if (!verified) return ctx.path === paths.token ? dpopRequest.run(true, next) : next();
    const { payload, protectedHeader } = verified;
    const now = Math.floor(clock().getTime() / 1000);
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) {
      return refuse(ctx, 'DPoP proof must have a numeric iat (RFC 9449 §4.2)');
    }
    if (payload.iat > now + options.skewSeconds) {
      return refuse(ctx, 'DPoP proof iat is in the future (RFC 9449 §4.3 step 11)');
    }
    // Without a nonce oidc-provider answers a stale iat with use_dpop_nonce (§8: a nonce cures clock skew).
    if (payload.nonce !== undefined && payload.iat < now - DPOP_PROOF_MAX_AGE_SECONDS) {
      return refuse(ctx, 'DPoP proof iat is too old (RFC 9449 §4.3 step 11)');
    }
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH) {
      return refuse(ctx, 'DPoP proof must have a jti string of at most 256 characters (RFC 9449 §4.2)');
    }
    if (payload.iat >= now - DPOP_PROOF_MAX_AGE_SECONDS) {
      // §11.1: a proof is used once. Keyed by the key and the jti; kept as long as the proof is acceptable.
      const jkt = await calculateJwkThumbprint(
        protectedHeader.jwk as Parameters<typeof calculateJwkThumbprint>[0],
      );
      const key = `dpop:${createHash('sha256').update(`${jkt}.${payload.jti}`).digest('base64url')}`;
      const expiresAtMs = (payload.iat + DPOP_PROOF_MAX_AGE_SECONDS + options.skewSeconds + 1) * 1000;
      let fresh: boolean;
      try {
        fresh = await replayCache.claim(key, expiresAtMs);
      } catch (err) {
        // Fail closed: a proof whose use cannot be recorded is not accepted.
        options.logger.error({ err }, 'DPoP replay cache unavailable');
        ctx.status = 500;
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'json';
        ctx.body = { error: 'server_error', error_description: 'the DPoP replay cache is unavailable' };
        return;
      }
      if (!fresh) {
        return refuse(ctx, 'DPoP proof jti was already used (RFC 9449 §11.1)');
      }
    }
    return ctx.path === paths.token ? dpopRequest.run(true, next) : next();
  };
}

/**
 * A client's metadata as oidc-provider sees it for this request: during a DPoP token request the token is bound
 * to the proof's key, so the certificate binding the directory asks for every client is lifted for it (one
 * confirmation per token, RFC 9449 §6 / RFC 8705 §3); a client without a proof is held to its certificate.
 */
export function withDpopBinding<T extends object>(metadata: T | undefined): T | undefined {
  if (!metadata || !bindsToDpopKey()) return metadata;
  return { ...metadata, tls_client_certificate_bound_access_tokens: false };
}
