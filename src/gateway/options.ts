import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../shared/clock.ts';
import { type ListenerLimits, resolveListenerLimits } from '../shared/listener-limits.ts';
import type { DpopResourceOptions, ForwardedCertificate, RateLimitOptions } from './decision/types.ts';
import type { DecisionRecord } from './decision-log.ts';
import type { LivenessState } from './liveness.ts';
import { type CatalogRoute, compileRouteTable } from './match-route.ts';

export interface GatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * External base URL of the gateway as clients address it (behind a proxy: the proxy's); DPoP proofs' `htu`
   * is checked against it plus the request path (RFC 9449 §4.3 step 9).
   */
  publicUrl: string;
  /** Server certificate chain and key; `ca` is the PEM bundle of CAs whose client certificates are trusted. */
  tls: { cert: string; key: string; passphrase?: string; ca: string };
  /** Expected `iss` of access tokens (RFC 9068 §4). */
  issuer: string;
  /** Expected `aud` of access tokens (RFC 9068 §4). */
  audience: string;
  /** The authorization server's JWKS (https). */
  jwksUri: string;
  /** PEM bundle to trust when fetching the JWKS; default: the system store. */
  jwksCa?: string;
  liveness: LivenessState;
  /**
   * Undefined while `liveness` is current; otherwise why it is not (a standalone gateway's feed is stale or has
   * not delivered its first snapshot) and every request is refused 503 feed_stale. Default: always current.
   */
  staleness?: () => string | undefined;
  /**
   * The access catalog: each operation with its scope alternatives and policy (auth, mtls, dpop, owner
   * parameter), or legacy one-scope rows. Anything not listed is denied.
   */
  routes: CatalogRoute[];
  /** Paths that need a trusted client certificate only, no token (GET/HEAD). Default ['/health']. */
  publicPaths?: string[];
  /** http(s) base URL of the protected API. */
  upstream: string;
  /**
   * Sent in x-accredit-gateway-secret on every forwarded request so the upstream can refuse callers that
   * bypass the gateway (at least 32 visible ASCII characters); without it start-up warns.
   */
  upstreamSecret?: string;
  /**
   * TLS to an https upstream: `ca`, the PEM bundle its certificate must chain to (default: the system store);
   * `cert`/`key`, the client certificate the gateway presents (mTLS) so the upstream can admit it alone.
   */
  upstreamTls?: UpstreamTls;
  logger: Logger;
  /** Told of every decision after it is logged (the console's decision log, metrics); must not throw. */
  onDecision?: (entry: DecisionRecord) => void;
  clock?: Clock;
  /** JWS algorithm allow-list. Default ['ES256', 'ES384', 'PS256', 'EdDSA']; symmetric and none refused. */
  algorithms?: string[];
  /** Leeway for exp/nbf in seconds (default 5, at most 300). */
  clockToleranceSeconds?: number;
  /** Least time between JWKS refetches caused by an unknown kid (default 30 000 ms). */
  jwksCooldownMs?: number;
  /** Age after which the JWKS is refreshed in the background (default 600 000 ms). */
  jwksMaxAgeMs?: number;
  /** Verified tokens kept in memory until their exp (default 10 000). */
  tokenCacheSize?: number;
  /**
   * Threads verifying tokens not yet in that cache, off the event loop that proxies (default 0: in the event
   * loop's thread). Worth it only where CPUs sit idle: on a saturated 2-vCPU machine the threads measured no
   * gain (docs/performance.md).
   */
  verifyThreads?: number;
  /** Upstream response-header and body timeout (default 30 000 ms). */
  upstreamTimeoutMs?: number;
  /** Keep-alive connections to the upstream (default 64). */
  upstreamConnections?: number;
  /** realm of the WWW-Authenticate challenge (default "accredit"). */
  realm?: string;
  /**
   * DPoP proof checking (RFC 9449): the replay cache shared by every node, the nonce secret shared by every
   * node, nonce requirement, iat window, algorithms. `htu` is judged against `publicUrl`.
   */
  dpop?: Omit<DpopResourceOptions, 'publicUrl'>;
  /**
   * Rate limits (issue 16): the counter store shared by every node (else this process only) and what a failing
   * store means (`open`, default: admit unchecked, logged and counted; `closed`: 503 rate_limit_unavailable).
   */
  rateLimit?: RateLimitOptions;
  /**
   * Connection limits of the listener; each one missing takes its default (DEFAULT_LISTENER_LIMITS: 10 s
   * handshake, 10 s to the first request, 1024 connections, 64 per source address, 20 s headers, 120 s
   * request, 256 descriptors kept free of connections).
   */
  limits?: Partial<ListenerLimits>;
  /**
   * Addresses or CIDR ranges of proxies that terminate the client's TLS and forward its certificate in
   * headers; only their connections have `certificateFromHeaders` consulted. Default: none.
   */
  trustedProxies?: string[];
  /**
   * Reads the client certificate a trusted proxy forwarded (RFC 9440 Client-Cert, nginx, Envoy XFCC, ALB):
   * undefined when it forwarded none, 'refused' when the header is unusable. The headers themselves are
   * stripped before the upstream, from everyone, as always.
   */
  certificateFromHeaders?: (req: IncomingMessage) => ForwardedCertificate | undefined | 'refused';
}

export interface UpstreamTls {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
}

export const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'EdDSA'];
// Asymmetric JWS algorithms only (RFC 8725 §3.1): a shared-secret or unsigned token proves nothing here.
export const ASYMMETRIC = new Set([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
]);

export interface ResolvedGatewayOptions
  extends Required<
    Omit<
      GatewayOptions,
      | 'jwksCa'
      | 'tls'
      | 'upstreamSecret'
      | 'upstreamTls'
      | 'limits'
      | 'staleness'
      | 'trustedProxies'
      | 'certificateFromHeaders'
      | 'dpop'
      | 'onDecision'
      | 'rateLimit'
    >
  > {
  dpop: GatewayOptions['dpop'];
  onDecision: GatewayOptions['onDecision'];
  rateLimit: GatewayOptions['rateLimit'];
  staleness: (() => string | undefined) | undefined;
  jwksCa: string | undefined;
  upstreamSecret: string | undefined;
  upstreamTls: UpstreamTls | undefined;
  tls: GatewayOptions['tls'];
  limits: ListenerLimits;
  trustedProxies: string[] | undefined;
  certificateFromHeaders: GatewayOptions['certificateFromHeaders'];
}

function fail(key: string, message: string): never {
  throw new Error(`gateway.${key}: ${message}`);
}

function nonEmpty(key: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) fail(key, 'expected a non-empty string');
}

function urlOf(key: string, value: string, protocols: string[]): URL {
  if (!URL.canParse(value)) fail(key, `not a URL: ${JSON.stringify(value)}`);
  const url = new URL(value);
  if (!protocols.includes(url.protocol)) fail(key, `must be an ${protocols.join(' or ')} URL`);
  return url;
}

function intIn(key: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    fail(key, `expected an integer from ${min} to ${max}`);
  return value;
}

/** Bad configuration stops the gateway at boot with the key named, never at the first request. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  nonEmpty('host', options.host);
  intIn('port', options.port, 0, 65535);
  urlOf('publicUrl', options.publicUrl, ['https:']);
  nonEmpty('tls.cert', options.tls?.cert);
  nonEmpty('tls.key', options.tls?.key);
  nonEmpty('tls.ca', options.tls?.ca);
  nonEmpty('issuer', options.issuer);
  nonEmpty('audience', options.audience);
  urlOf('jwksUri', options.jwksUri, ['https:']);
  const upstream = urlOf('upstream', options.upstream, ['http:', 'https:']);
  // A single header value (RFC 9110 §5.5: no CR/LF to split it), long enough not to be guessed.
  if (options.upstreamSecret !== undefined && !/^[\x21-\x7e]{32,}$/.test(options.upstreamSecret)) {
    fail('upstreamSecret', 'expected at least 32 visible ASCII characters (no spaces)');
  }
  if (options.upstreamTls !== undefined) {
    const { ca, cert, key } = options.upstreamTls;
    if (upstream.protocol !== 'https:') fail('upstreamTls', 'only for an https upstream');
    if (ca !== undefined) nonEmpty('upstreamTls.ca', ca);
    if ((cert === undefined) !== (key === undefined)) fail('upstreamTls', 'cert and key go together');
    if (cert !== undefined) nonEmpty('upstreamTls.cert', cert);
    if (key !== undefined) nonEmpty('upstreamTls.key', key);
  }
  if (!options.liveness) fail('liveness', 'a LivenessState is required');
  if (!Array.isArray(options.routes)) fail('routes', 'expected the access catalog routes');
  try {
    compileRouteTable(options.routes);
  } catch (err) {
    fail('routes', (err as Error).message.replace(/^routes: /, ''));
  }
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  if (algorithms.length === 0) fail('algorithms', 'at least one algorithm is required');
  for (const alg of algorithms) {
    if (!ASYMMETRIC.has(alg)) fail('algorithms', `${alg} is not an accepted asymmetric JWS algorithm`);
  }
  const publicPaths = options.publicPaths ?? ['/health'];
  for (const path of publicPaths) {
    if (!path.startsWith('/') || path.includes('?') || path.includes('..')) {
      fail('publicPaths', `"${path}" must be a plain absolute path`);
    }
  }
  return {
    ...options,
    jwksCa: options.jwksCa,
    upstreamSecret: options.upstreamSecret,
    upstreamTls: options.upstreamTls,
    staleness: options.staleness,
    trustedProxies: options.trustedProxies,
    certificateFromHeaders: options.certificateFromHeaders,
    dpop: options.dpop,
    onDecision: options.onDecision,
    rateLimit: options.rateLimit,
    publicPaths,
    algorithms,
    clock: options.clock ?? systemClock,
    clockToleranceSeconds: intIn('clockToleranceSeconds', options.clockToleranceSeconds ?? 5, 0, 300),
    jwksCooldownMs: intIn('jwksCooldownMs', options.jwksCooldownMs ?? 30_000, 0, 86_400_000),
    jwksMaxAgeMs: intIn('jwksMaxAgeMs', options.jwksMaxAgeMs ?? 600_000, 1000, 86_400_000),
    tokenCacheSize: intIn('tokenCacheSize', options.tokenCacheSize ?? 10_000, 0, 1_000_000),
    verifyThreads: intIn('verifyThreads', options.verifyThreads ?? 0, 0, 64),
    upstreamTimeoutMs: intIn('upstreamTimeoutMs', options.upstreamTimeoutMs ?? 30_000, 100, 600_000),
    upstreamConnections: intIn('upstreamConnections', options.upstreamConnections ?? 64, 1, 4096),
    realm: options.realm ?? 'accredit',
    limits: resolveListenerLimits(options.limits, (key, message) => fail(`limits.${key}`, message)),
  };
}
