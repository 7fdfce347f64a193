import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { RateLimitStore } from '../../shared/rate-limit/rate-limit-store.ts';
import type { ReplayCache } from '../../shared/replay-cache/index.ts';
import type { DecisionRecord, GatewayStats } from '../decision-log.ts';
import type { LivenessState } from '../liveness.ts';
import type { CatalogRoute } from '../match-route.ts';

/** What a door knows of one request; every door builds this and nothing else reaches the core. */
export interface RequestFacts {
  /** Upper-case. */
  method: string;
  /** Origin-form request-target as received: path + optional ?query. */
  target: string;
  authorization: string | undefined;
  dpop: string | undefined;
  /**
   * The external base URL (scheme://authority[/prefix]) the client addressed this request to, for a DPoP
   * proof's `htu` (RFC 9449 §4.3 step 9); the door knows it from its configuration or its event. Default:
   * the core's `dpop.publicUrl`. `htu` is this base + the path of `target`.
   */
  origin?: string;
  /** The client certificate: the TLS peer's, or one a trusted proxy forwarded (already trusted as a proxy). */
  certificate: ForwardedCertificate | undefined;
  requestId: string;
}

export interface ForwardedCertificate {
  leaf: X509Certificate;
  /** Intermediates, may be empty. */
  chain: X509Certificate[];
  source: 'tls' | 'rfc9440' | 'nginx' | 'envoy-xfcc' | 'aws-alb' | 'aws-apigw';
  /** For 'tls': OpenSSL already verified the chain during the handshake (socket.authorized). */
  tlsVerified?: { authorized: boolean; error: string | undefined };
}

export interface IdentityContext {
  clientId: string | undefined;
  orgId: string | undefined;
  scopes: string[];
  roles: string[];
  jti: string | undefined;
  certX5tS256: string | undefined;
  certSubject: string | undefined;
  /** The catalog pattern that matched, e.g. /v1/accounts/{id}. */
  route: string | undefined;
  /** The client's environment, sandbox or production (issue 15), when the directory said. */
  environment?: string;
}

export type DenyStatus = 400 | 401 | 403 | 404 | 429 | 503;

export type Decision =
  | {
      allow: true;
      status: 200;
      reason: 'allowed' | 'public_route';
      identity: IdentityContext;
      /** Headers to assert upstream (x-accredit-client-id, -org-id, -scopes, -roles, -cert-x5t-s256, -token-jti, x-request-id). */
      headers: Record<string, string>;
      /** A fresh DPoP nonce for the client (`DPoP-Nonce` response header, RFC 9449 §8.2), DPoP requests only. */
      dpopNonce?: string;
      /**
       * Headers for the client, where the door can add them: `RateLimit-Policy` / `RateLimit` (issue 16) when
       * rate limits applied. Lower-case names.
       */
      responseHeaders?: Record<string, string>;
      /** The rate-limit store failed and the request was admitted unchecked (fail-open): logged and counted. */
      rateLimitUnchecked?: true;
    }
  | {
      allow: false;
      status: DenyStatus;
      /** A stable code of GATEWAY_REASONS. */
      reason: string;
      /** Client-safe, never token material. */
      detail: string;
      /** The full WWW-Authenticate value (RFC 6750 / RFC 9449) when there is one. */
      challenge: string | undefined;
      /** What was established before the refusal (for the decision line only; never sent to the caller). */
      identity?: IdentityContext;
      /** `DPoP-Nonce` to send with the refusal (RFC 9449 §8, §9): with every DPoP challenge when nonces are on. */
      dpopNonce?: string;
      /** Headers for the client: with a 429 `rate_limited`, `Retry-After`, `RateLimit-Policy` and `RateLimit`. */
      responseHeaders?: Record<string, string>;
    };

/** DPoP (RFC 9449) at the resource server: how proofs are checked at every door of this core. */
export interface DpopResourceOptions {
  /** External base URL for `htu` when a door's facts carry no `origin` (the gateway's publicUrl). */
  publicUrl?: string;
  /** Where proof `jti`s are claimed (§11.1): shared by every node to refuse replays across nodes. Default memory. */
  replayCache?: ReplayCache;
  /** Whether a server nonce is required in every proof (§9). Default true. */
  requireNonce?: boolean;
  /**
   * Secret of the stateless nonces (≥ 32 bytes), the same on every node so any node accepts another's nonce.
   * Default: random per process (nonces then hold on this node only).
   */
  nonceSecret?: Buffer;
  /** Lifetime window of a nonce in seconds (default 300; a nonce is accepted 1–2 windows). */
  nonceWindowSeconds?: number;
  /** Accepted ± distance of a proof's `iat` from the server clock, seconds (default 60, 1–600). */
  iatWindowSeconds?: number;
  /** Proof algorithms (default ES256, ES384, ES512, PS256, PS384, PS512, EdDSA, Ed25519). */
  algorithms?: string[];
}

/** Rate limits (issue 16): where the counters are, and what a failing store means. */
export interface RateLimitOptions {
  /** Shared by every node to count across nodes (the database, Redis). Default: in this process. */
  store?: RateLimitStore;
  /**
   * When the store fails (unreachable, timed out): `open` (default) admits the request unchecked, with a
   * logged warning and `accredit_rate_limit_unchecked_total`; `closed` refuses it 503 rate_limit_unavailable.
   */
  onStoreError?: 'open' | 'closed';
}

export interface DecisionCoreOptions {
  liveness: LivenessState;
  /**
   * Undefined while `liveness` is current; otherwise why it is not, and every request is refused 503
   * feed_stale. Default: always current.
   */
  staleness?: () => string | undefined;
  /** The access catalog; anything not listed is denied. */
  routes: CatalogRoute[];
  /** Paths that need a trusted client certificate only, no token (GET/HEAD). Default ['/health']. */
  publicPaths?: string[];
  /**
   * PEM bundle of the CAs whose client certificates are trusted: certificates that no TLS handshake verified
   * (forwarded by a proxy) are chained to these in code.
   */
  trustedCa: string;
  /** Expected `iss` of access tokens (RFC 9068 §4). */
  issuer: string;
  /** Expected `aud` of access tokens (RFC 9068 §4). */
  audience: string;
  /** The authorization server's JWKS (https). */
  jwksUri: string;
  jwksCa?: string;
  jwksCooldownMs?: number;
  jwksMaxAgeMs?: number;
  algorithms?: string[];
  clockToleranceSeconds?: number;
  tokenCacheSize?: number;
  /**
   * Threads verifying the signatures of tokens not yet in the verified-token cache, off the event loop that
   * decides and proxies (verify-pool.ts). Default 0: verified in this thread (the Lambda authorizer, tests).
   */
  verifyThreads?: number;
  /** realm of the WWW-Authenticate challenge (default "accredit"). */
  realm?: string;
  /** DPoP proof checking; defaults as documented on each member. */
  dpop?: DpopResourceOptions;
  /** Rate limits from the catalog and the operators' overrides (in `liveness`); defaults as documented. */
  rateLimit?: RateLimitOptions;
  logger: Logger;
  /** Told of every decision after it is logged (the console's decision log, metrics); must not throw. */
  onDecision?: (entry: DecisionRecord) => void;
  clock?: Clock;
}

export interface DecisionCore {
  /** Never throws (nor rejects) for request faults; an internal fault is thrown for the door to answer 500. */
  decide(facts: RequestFacts): Decision | Promise<Decision>;
  setRoutes(routes: CatalogRoute[]): void;
  /** Replaces the trusted CA bundle (the platform rotated its issuing CA): forwarded chains verify against it. */
  setTrustedCa(pem: string): void;
  /**
   * The one decision line every door writes (subject, fingerprint, client, org, jti, route, decision, reason,
   * latency). `outcome` replaces status and reason when the door's own work after an allow decided them (the
   * own gateway's upstream status, or its failure).
   */
  record(
    door: string,
    facts: RequestFacts,
    decision: Decision,
    latencyMs: number,
    outcome?: { status: number; reason?: string },
  ): void;
  /** Counters of decisions by reason, for metrics. */
  stats(): GatewayStats;
  /** Fetches the JWKS ahead of the first request; failure is not fatal. */
  warm(): Promise<void>;
  close(): Promise<void>;
}
