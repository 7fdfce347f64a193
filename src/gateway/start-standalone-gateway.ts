import { request } from 'node:https';
import type { Logger } from 'pino';
import type { ProxyEntry } from '../shared/client-cert-headers/index.ts';
import type { MetricsListener } from '../shared/metrics/index.ts';
import { createGateway, type Gateway } from './create-gateway.ts';
import { createDecisionListener, type DecisionListener } from './doors/create-decision-listener.ts';
import { type FeedFollower, followFeed } from './follow-feed.ts';
import { type StandaloneMetricsOptions, standaloneMetrics } from './gateway-metrics.ts';
import { createMemoryLivenessState } from './liveness.ts';
import type { CatalogRoute } from './match-route.ts';
import type { GatewayOptions, UpstreamTls } from './options.ts';
import { proxyCertificates } from './proxy-certificates.ts';
import { type DecisionPusher, pushDecisions } from './push-decisions.ts';
import { checkFedTrustBundle } from './trust-bundle.ts';

export interface StandaloneGatewayOptions {
  /** The platform's public base URL: its change feed, discovery document and JWKS. */
  platformUrl: string;
  /** PEM bundle of the platform CA: the platform's server certificate and partners' client certificates chain to it. */
  ca: string;
  /** The enforcement credential an operator granted with `accredit gateway credential issue`. */
  credential: string;
  host: string;
  port: number;
  publicUrl: string;
  tls: { cert: string; key: string };
  upstream: string;
  upstreamSecret?: string;
  upstreamTls?: UpstreamTls;
  /** `aud` the access tokens must carry (RFC 9068 §3). */
  audience: string;
  /** Default: the platform's discovery document (RFC 8414 §3). */
  issuer?: string;
  jwksUri?: string;
  staleAfterMs: number;
  /** Token verification threads (GatewayOptions.verifyThreads; default 0). */
  verifyThreads?: number;
  /** TLS-terminating proxies in front of this gateway, and the form each forwards client certificates in. */
  proxies?: ProxyEntry[];
  logger: Logger;
  /**
   * DPoP (RFC 9449): give every node the same `nonceSecret` (else nonces hold on one node) and a shared
   * `replayCache` (else a proof is remembered by one node only).
   */
  dpop?: GatewayOptions['dpop'];
  /** Rate limits (issue 16): give every node the same shared `store` (Redis), else each counts alone. */
  rateLimit?: GatewayOptions['rateLimit'];
  /** The decision listener (auth_request, ext_authz, AuthZEN) next to the gateway, over the same core. */
  decision?: {
    /** External base URL of the API behind the edges, for DPoP `htu` (default: publicUrl). */
    edgeUrl?: string;
    port: number;
    callers?: string[];
    callerCa?: string;
    secret?: string;
    certificateHeader?: string;
  };
  /** Issue 16: Prometheus /metrics (decisions, feed position) on an operator-only plain-HTTP listener. */
  metrics?: StandaloneMetricsOptions;
  /** Issue 16: send the decision lines to the platform's shared decision log (with the credential). */
  pushDecisions?: boolean;
}

export interface StandaloneGateway {
  gateway: Gateway;
  decision: DecisionListener | undefined;
  metrics: MetricsListener | undefined;
  feed: FeedFollower;
  /** Present with `pushDecisions`. */
  pusher: DecisionPusher | undefined;
  issuer: string;
  jwksUri: string;
  close(): Promise<void>;
}

/** RFC 8414 §3: the issuer and jwks_uri of the authorization server at the platform URL. */
function discover(platformUrl: string, ca: string): Promise<{ issuer: string; jwks_uri: string }> {
  const url = new URL('/.well-known/openid-configuration', platformUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 1_000_000) req.destroy(new Error('discovery document too large'));
      });
      res.on('end', () => {
        try {
          const doc = JSON.parse(body) as { issuer?: unknown; jwks_uri?: unknown };
          if (res.statusCode !== 200 || typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') {
            throw new Error(`status ${res.statusCode}, no issuer and jwks_uri`);
          }
          resolve({ issuer: doc.issuer, jwks_uri: doc.jwks_uri });
        } catch (err) {
          reject(new Error(`unusable discovery document at ${url}: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new Error(`cannot fetch ${url}: ${err.message}`)));
    req.end();
  });
}

/**
 * The gateway as its own process: no database, only the platform's change feed (state and routes), its JWKS
 * (keys) and this process's own listener, upstream and logs. Refuses everything until the first snapshot and
 * whenever the feed goes stale.
 */
export async function startStandaloneGateway(options: StandaloneGatewayOptions): Promise<StandaloneGateway> {
  const found =
    options.issuer !== undefined && options.jwksUri !== undefined
      ? { issuer: options.issuer, jwks_uri: options.jwksUri }
      : await discover(options.platformUrl, options.ca);
  const issuer = options.issuer ?? found.issuer;
  const jwksUri = options.jwksUri ?? found.jwks_uri;
  const state = createMemoryLivenessState();
  const metrics = options.metrics ? standaloneMetrics() : undefined;
  const pusher = options.pushDecisions
    ? pushDecisions({
        platformUrl: options.platformUrl,
        ca: options.ca,
        credential: options.credential,
        logger: options.logger,
      })
    : undefined;
  const hooks = [metrics?.onDecision, pusher?.onDecision].filter((h) => h !== undefined);
  const onDecision =
    hooks.length === 0
      ? undefined
      : hooks.length === 1
        ? hooks[0]
        : (entry: Parameters<NonNullable<(typeof hooks)[0]>>[0]) => {
            for (const hook of hooks) hook(entry);
          };
  let gateway: Gateway | undefined;
  let routes: CatalogRoute[] = [];
  // The trust the listener has now; the configured bundle until the feed sends the platform's.
  let trusted = options.ca;
  const applyTrust = () => gateway?.setTls({ cert: options.tls.cert, key: options.tls.key, ca: trusted });
  const feed = followFeed({
    platformUrl: options.platformUrl,
    ca: options.ca,
    credential: options.credential,
    state,
    logger: options.logger,
    staleAfterMs: options.staleAfterMs,
    // An issuing CA rotated in or out at the platform: partners of every trusted generation are admitted.
    onTrustBundle(next) {
      const checked = checkFedTrustBundle(options.ca, next);
      if (!checked.ok) {
        options.logger.error({ reason: checked.reason }, 'the feed sent a CA bundle that was not installed');
        return;
      }
      if (checked.bundle === trusted) return;
      trusted = checked.bundle;
      try {
        applyTrust();
        options.logger.info('the platform CA bundle changed; the listener trusts the new one');
      } catch (err) {
        options.logger.error(
          { err: (err as Error).message },
          'the CA bundle from the feed could not be installed',
        );
      }
    },
    onRoutes(next) {
      routes = next;
      try {
        gateway?.setRoutes(next);
      } catch (err) {
        options.logger.error({ err: (err as Error).message }, 'the feed sent an unusable access catalog');
      }
    },
  });
  try {
    gateway = await createGateway({
      host: options.host,
      port: options.port,
      publicUrl: options.publicUrl,
      tls: { cert: options.tls.cert, key: options.tls.key, ca: trusted },
      issuer,
      audience: options.audience,
      jwksUri,
      jwksCa: options.ca,
      liveness: state,
      staleness: feed.staleness,
      routes,
      upstream: options.upstream,
      ...(options.upstreamSecret !== undefined ? { upstreamSecret: options.upstreamSecret } : {}),
      ...(options.upstreamTls !== undefined ? { upstreamTls: options.upstreamTls } : {}),
      ...(options.proxies !== undefined && options.proxies.length > 0
        ? proxyCertificates(options.proxies, () => new Date())
        : {}),
      ...(options.dpop !== undefined ? { dpop: options.dpop } : {}),
      ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
      ...(options.verifyThreads !== undefined ? { verifyThreads: options.verifyThreads } : {}),
      ...(onDecision ? { onDecision } : {}),
      logger: options.logger,
    });
  } catch (err) {
    feed.close();
    state.close();
    await pusher?.close();
    throw err;
  }
  // A snapshot that arrived while the listener was being created: its bundle is installed now.
  if (trusted !== options.ca) applyTrust();
  const started = gateway;
  // A snapshot that arrived while the listener was starting carried routes the gateway has not seen.
  started.setRoutes(routes);
  let decision: DecisionListener | undefined;
  if (options.decision !== undefined) {
    const d = options.decision;
    try {
      decision = await createDecisionListener({
        host: options.host,
        port: d.port,
        tls: options.tls,
        core: started.core,
        logger: options.logger,
        ...(d.callers !== undefined ? { callers: d.callers } : {}),
        ...(d.callerCa !== undefined ? { callerCa: d.callerCa } : {}),
        ...(d.secret !== undefined ? { secret: d.secret } : {}),
        ...(d.certificateHeader !== undefined ? { certificateHeader: d.certificateHeader } : {}),
        ...(d.edgeUrl !== undefined ? { edgeUrl: d.edgeUrl } : {}),
      });
    } catch (err) {
      feed.close();
      state.close();
      await started.close();
      await pusher?.close();
      throw err;
    }
  }
  const decisionListener = decision;
  let metricsListener: MetricsListener | undefined;
  if (metrics && options.metrics) {
    metrics.follow(feed);
    try {
      metricsListener = await metrics.listen(options.metrics, options.logger);
    } catch (err) {
      feed.close();
      state.close();
      await decisionListener?.close();
      await started.close();
      await pusher?.close();
      throw err;
    }
  }
  const metricsServer = metricsListener;
  return {
    gateway: started,
    decision: decisionListener,
    metrics: metricsServer,
    feed,
    pusher,
    issuer,
    jwksUri,
    async close() {
      feed.close();
      state.close();
      await metricsServer?.close();
      await decisionListener?.close();
      await started.close();
      // After the listeners: the last decisions are in the buffer and go out now.
      await pusher?.close();
    },
  };
}
