import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { addressList, inAddressList } from '../shared/address-list.ts';
import { createHttpsListener } from '../shared/create-https-listener.ts';
import { createDecisionCore } from './decision/create-decision-core.ts';
import type { Decision, DecisionCore, ForwardedCertificate, RequestFacts } from './decision/types.ts';
import type { GatewayStats } from './decision-log.ts';
import type { IdentityHeaders } from './forward-headers.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { CatalogRoute } from './match-route.ts';
import { type GatewayOptions, resolveGatewayOptions } from './options.ts';
import { createUpstream } from './proxy-upstream.ts';
import { sendDecisionProblem, sendProblem, setResponseHeaders } from './send-problem.ts';
import { tlsPeerCertificate } from './tls-peer-certificate.ts';

export interface Gateway {
  /** Where the listener is reachable from this host (https://host:port), not the external publicUrl. */
  url: string;
  port: number;
  /** Counters of decisions by reason, for metrics. */
  stats(): GatewayStats;
  /** Replaces the access catalog (a standalone gateway learns it from each feed snapshot). */
  setRoutes(routes: CatalogRoute[]): void;
  /**
   * Replaces the listener's certificate and trusted CA bundle (an issuing CA rotated in or out): new
   * handshakes use them, connections already open keep theirs.
   */
  setTls(tls: { cert: string; key: string; passphrase?: string; ca: string }): void;
  /** The decision core this door asks; other doors of the same process (the decision listener) share it. */
  core: DecisionCore;
  close(): Promise<void>;
}

const DOOR = 'gateway';

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function listenUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `https://${name}:${port}`;
}

/**
 * The policy enforcement point as its own door: an HTTPS listener that requests client certificates, asks
 * the decision core (steps 0–5 of the architecture) about every request, and proxies the admitted ones to
 * the upstream with the identity the core established (steps 6–7).
 */
export async function createGateway(input: GatewayOptions): Promise<Gateway> {
  const options = resolveGatewayOptions(input);
  const { logger, realm } = options;
  const trustedProxies = addressList(options.trustedProxies, 'gateway.trustedProxies');
  const core = await createDecisionCore({
    liveness: options.liveness,
    ...(options.staleness !== undefined ? { staleness: options.staleness } : {}),
    routes: options.routes,
    publicPaths: options.publicPaths,
    trustedCa: options.tls.ca,
    issuer: options.issuer,
    audience: options.audience,
    jwksUri: options.jwksUri,
    ...(options.jwksCa !== undefined ? { jwksCa: options.jwksCa } : {}),
    jwksCooldownMs: options.jwksCooldownMs,
    jwksMaxAgeMs: options.jwksMaxAgeMs,
    algorithms: options.algorithms,
    clockToleranceSeconds: options.clockToleranceSeconds,
    tokenCacheSize: options.tokenCacheSize,
    verifyThreads: options.verifyThreads,
    realm,
    // RFC 9449 §4.3 step 9: htu is judged against the URL clients address, not this socket's.
    dpop: { ...options.dpop, publicUrl: options.publicUrl },
    logger,
    clock: options.clock,
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  const upstream = createUpstream({
    url: options.upstream,
    timeoutMs: options.upstreamTimeoutMs,
    connections: options.upstreamConnections,
    secret: options.upstreamSecret,
    tls: options.upstreamTls,
  });
  const certificateFromHeaders = options.certificateFromHeaders;

  /**
   * The client certificate of this request: the TLS peer's, or — only on a connection from a trusted proxy,
   * which terminated the client's TLS — the one it forwarded in its headers (none when it forwarded none).
   */
  function certificateOf(req: IncomingMessage): ForwardedCertificate | undefined | 'refused' {
    const socket = req.socket as TLSSocket;
    if (certificateFromHeaders !== undefined && inAddressList(trustedProxies, socket.remoteAddress)) {
      try {
        return certificateFromHeaders(req);
      } catch (err) {
        // A reader that fails is a header it cannot use: refused, like one it recognised as unusable.
        logger.warn({ err: (err as Error).message }, 'the forwarded client certificate could not be read');
        return 'refused';
      }
    }
    return tlsPeerCertificate(socket);
  }

  function refusedCertificate(): Decision {
    return {
      allow: false,
      status: 403,
      reason: GATEWAY_REASONS.certificateUntrusted,
      detail: 'the forwarded client certificate is not usable',
      challenge: undefined,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = req.url ?? '';
    const certificate = certificateOf(req);
    const facts: RequestFacts = {
      method: req.method ?? 'GET',
      target: url,
      authorization: req.headers.authorization,
      dpop: typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined,
      certificate: certificate === 'refused' ? undefined : certificate,
      // Random, never a counter: partners see request ids and must learn nothing of others' traffic.
      requestId: randomUUID(),
    };
    let decision: Decision;
    try {
      const decided = certificate === 'refused' ? refusedCertificate() : core.decide(facts);
      decision = decided instanceof Promise ? await decided : decided;
    } catch (err) {
      logger.error({ err, request_id: facts.requestId }, 'gateway step failed');
      // Unread request bodies of refused requests are discarded, not buffered.
      req.resume();
      const failure = new GatewayError(
        GATEWAY_REASONS.internalError,
        500,
        'an internal error occurred; it has been logged',
      );
      sendProblem(res, failure, { realm, requestId: facts.requestId, instance: pathOf(url) });
      const denied: Decision = {
        allow: false,
        status: 503,
        reason: failure.reason,
        detail: failure.message,
        challenge: undefined,
      };
      core.record(DOOR, facts, denied, performance.now() - started, { status: 500 });
      return;
    }
    if (!decision.allow) {
      req.resume();
      sendDecisionProblem(res, decision, { requestId: facts.requestId, instance: pathOf(url) });
      core.record(DOOR, facts, decision, performance.now() - started);
      return;
    }
    if (decision.dpopNonce !== undefined) res.setHeader('dpop-nonce', decision.dpopNonce);
    setResponseHeaders(res, decision.responseHeaders);
    try {
      const status = await upstream.forward(req, res, url, decision.headers as unknown as IdentityHeaders);
      core.record(DOOR, facts, decision, performance.now() - started, { status });
    } catch (err) {
      const failure =
        err instanceof GatewayError
          ? err
          : new GatewayError(GATEWAY_REASONS.upstreamUnavailable, 502, 'the upstream API is unavailable');
      req.resume();
      sendProblem(res, failure, { realm, requestId: facts.requestId, instance: pathOf(url) });
      core.record(DOOR, facts, decision, performance.now() - started, {
        status: failure.status,
        reason: failure.reason,
      });
    }
  }

  const server = createHttpsListener(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.passphrase !== undefined ? { passphrase: options.tls.passphrase } : {}),
      ca: options.tls.ca,
      // Step 1's decisions (missing, untrusted, self-signed, revoked) are answered in HTTP, not by a
      // handshake failure, so a partner sees which it is; the certificate itself is still verified by OpenSSL.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        logger.error({ err }, 'gateway request failed');
        res.destroy();
      });
    },
    { name: 'gateway', limits: options.limits, logger, uncappedAddresses: options.trustedProxies ?? [] },
  );
  // The server's SecureContext is built once here; resumed sessions skip the certificate exchange's cost.
  server.keepAliveTimeout = 65_000;
  // TLS 1.2 renegotiation could swap the client certificate under the per-connection thumbprint cache.
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'gateway TLS handshake failed'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = listenUrl(options.host, port);
  logger.info(
    { listener: 'gateway', url, public_url: options.publicUrl, upstream: options.upstream },
    'listening',
  );
  if (options.upstreamSecret === undefined) {
    logger.warn(
      { listener: 'gateway', upstream: options.upstream },
      'INSECURE: no upstream secret is set; the upstream cannot tell gateway traffic from anyone else’s, so any caller that reaches it can forge x-accredit-* identity headers',
    );
  }
  // Warm the key cache so the first partner request does not pay for the fetch; failure is not fatal.
  core
    .warm()
    .catch((err: Error) => logger.warn({ err: err.message }, 'gateway could not fetch the JWKS yet'));

  return {
    url,
    port,
    core,
    stats: () => core.stats(),
    setRoutes(next) {
      core.setRoutes(next);
    },
    setTls(tls) {
      core.setTrustedCa(tls.ca);
      server.setSecureContext({
        cert: tls.cert,
        key: tls.key,
        ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
        ca: tls.ca,
        minVersion: 'TLSv1.2',
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await upstream.close();
      await core.close();
    },
  };
}
