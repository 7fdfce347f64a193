import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { createHttpsListener } from '../shared/create-https-listener.ts';
import { redactPath } from '../shared/redact-url.ts';
import {
  type AcceptedCertificate,
  checkClientCertificate,
  checkIssuedCertificateOwner,
  presentedCertificate,
} from './check-client-certificate.ts';
import { checkDpopBinding } from './check-dpop.ts';
import { checkLiveness } from './check-liveness.ts';
import { checkResourceOwner } from './check-resource-owner.ts';
import { checkScope } from './check-scope.ts';
import { checkSenderConstraint } from './check-sender-constraint.ts';
import { createDecisionLog, type GatewayStats } from './decision-log.ts';
import type { IdentityHeaders } from './forward-headers.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import { createJwksResolver } from './jwks.ts';
import type { ClientLiveness } from './liveness.ts';
import { type CatalogRoute, compileRouteTable, type RouteMatch } from './match-route.ts';
import { type GatewayOptions, resolveGatewayOptions } from './options.ts';
import { parseRequestTarget } from './parse-request-target.ts';
import { createUpstream } from './proxy-upstream.ts';
import { readAccessToken, rejectTokenInQuery } from './read-access-token.ts';
import { sendProblem } from './send-problem.ts';
import { type AccessToken, createTokenVerifier } from './verify-access-token.ts';

export interface Gateway {
  /** Where the listener is reachable from this host (https://host:port), not the external publicUrl. */
  url: string;
  port: number;
  /** Counters of decisions by reason, for metrics. */
  stats(): GatewayStats;
  /** Replaces the access catalog (a standalone gateway learns it from each feed snapshot). */
  setRoutes(routes: CatalogRoute[]): void;
  close(): Promise<void>;
}

/** What each step has established so far; the decision line is written from it, allow or deny. */
interface RequestContext {
  requestId: string;
  started: number;
  method: string;
  path: string;
  cert: AcceptedCertificate | undefined;
  token: AccessToken | undefined;
  client: ClientLiveness | undefined;
  route: RouteMatch | undefined;
  /** Raw path segments, for the ownership guard. */
  segments: readonly string[];
  /** Why an admitted request was admitted: `ok`, or `public_route` when no token was asked for. */
  allowReason: GatewayError['reason'];
}

const NO_SEGMENTS: readonly string[] = [];

const PUBLIC_METHODS = new Set(['GET', 'HEAD']);

function listenUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `https://${name}:${port}`;
}

/**
 * The policy enforcement point: an HTTPS listener that requests client certificates and runs every
 * request through steps 1–7 of the architecture before proxying it to the upstream.
 */
export async function createGateway(input: GatewayOptions): Promise<Gateway> {
  const options = resolveGatewayOptions(input);
  const { liveness, clock, logger, realm } = options;
  let routes = compileRouteTable(options.routes);
  const publicPaths = new Set(options.publicPaths);
  const jwks = createJwksResolver({
    uri: options.jwksUri,
    ca: options.jwksCa,
    cooldownMs: options.jwksCooldownMs,
    maxAgeMs: options.jwksMaxAgeMs,
    timeoutMs: 5000,
  });
  const verifier = createTokenVerifier({
    issuer: options.issuer,
    audience: options.audience,
    getKey: jwks.getKey,
    algorithms: options.algorithms,
    clockToleranceSeconds: options.clockToleranceSeconds,
    cacheSize: options.tokenCacheSize,
  });
  const upstream = createUpstream({
    url: options.upstream,
    timeoutMs: options.upstreamTimeoutMs,
    connections: options.upstreamConnections,
    secret: options.upstreamSecret,
    tls: options.upstreamTls,
  });
  const decisions = createDecisionLog(logger);

  /**
   * Steps 1–5; throws a GatewayError at the first refusal, returns the identity to assert upstream. Without
   * a promise when the token was verified before (keep-alive clients reuse theirs until it expires).
   */
  function authorize(req: IncomingMessage, ctx: RequestContext): IdentityHeaders | Promise<IdentityHeaders> {
    // Fail closed: a state the platform no longer keeps current may admit what it has revoked.
    const stale = options.staleness?.();
    if (stale !== undefined) throw new GatewayError(GATEWAY_REASONS.feedStale, 503, stale);
    const now = clock();
    const socket = req.socket as TLSSocket;
    const target = parseRequestTarget(req.url);
    ctx.path = target.path;
    if (publicPaths.has(target.path) && PUBLIC_METHODS.has(ctx.method)) {
      // No token names a client here: the certificate's own application must be active.
      const cert = checkClientCertificate(socket, liveness, now);
      ctx.cert = cert;
      checkIssuedCertificateOwner(cert, liveness);
      return { 'x-accredit-cert-x5t-s256': cert.x5tS256, 'x-request-id': ctx.requestId };
    }
    // Looked up before step 1, whose demands the operation sets; a path no operation matches demands what
    // the strictest does, so that its 404 is told only to an authenticated caller.
    const route = routes.match(ctx.method, target.segments);
    ctx.route = route;
    ctx.segments = target.segments;
    // A certificate that is presented is checked whatever the operation: one rule, never a silent downgrade.
    const cert =
      route?.mtls === 'optional' && presentedCertificate(socket) === undefined
        ? undefined
        : checkClientCertificate(socket, liveness, now);
    ctx.cert = cert;
    rejectTokenInQuery(target.query);
    if (route?.auth === 'public') return admitPublic(ctx, cert);
    const raw = readAccessToken(req.headers.authorization, route?.dpop);
    const cached = verifier.cached(raw, now.getTime());
    if (cached) return admit(ctx, cached, cert);
    return verifier.verify(raw, now).then((token) => admit(ctx, token, cert));
  }

  /**
   * A public operation: no token is read (the Authorization header is stripped as always, so the upstream
   * never takes a public call for an identified one); only a certificate that was presented and trusted is
   * asserted, and — no token naming a client — only while its own application is active.
   */
  function admitPublic(ctx: RequestContext, cert: AcceptedCertificate | undefined): IdentityHeaders {
    ctx.allowReason = GATEWAY_REASONS.publicRoute;
    if (cert === undefined) return { 'x-request-id': ctx.requestId };
    checkIssuedCertificateOwner(cert, liveness);
    return { 'x-accredit-cert-x5t-s256': cert.x5tS256, 'x-request-id': ctx.requestId };
  }

  /** Steps 3–5 once the token is verified. */
  function admit(
    ctx: RequestContext,
    token: AccessToken,
    cert: AcceptedCertificate | undefined,
  ): IdentityHeaders {
    ctx.token = token;
    const route = ctx.route;
    checkDpopBinding(token, route?.dpop);
    checkSenderConstraint(token, cert, route?.mtls ?? 'required');
    const client = checkLiveness(token, cert, liveness);
    ctx.client = client;
    if (!route) throw new GatewayError(GATEWAY_REASONS.routeNotFound, 404, 'no such operation');
    checkScope(token, route);
    // Before the upstream is contacted: it is never asked for another organisation's resource.
    if (route.ownerIndex >= 0) checkResourceOwner(route, ctx.segments, client);
    // Seam: a Cedar policy attached to the route is evaluated here, only on routes that carry one.
    return {
      'x-accredit-client-id': client.clientId,
      'x-accredit-org-id': client.orgId,
      'x-accredit-scopes': token.scopeText,
      'x-accredit-roles': token.rolesText,
      'x-accredit-cert-x5t-s256': cert?.x5tS256,
      'x-accredit-token-jti': token.jti,
      'x-request-id': ctx.requestId,
    };
  }

  function record(
    ctx: RequestContext,
    decision: 'allow' | 'deny',
    reason: GatewayError['reason'],
    status: number,
  ) {
    // A token a client put in the path must not land in the log, whatever became of the request.
    const path = redactPath(ctx.path);
    decisions.record({
      decision,
      reason,
      status,
      method: ctx.method,
      route: ctx.route?.pathPattern ?? (decision === 'allow' ? path : undefined),
      path,
      client_id: ctx.client?.clientId ?? ctx.token?.clientId,
      org_id: ctx.client?.orgId ?? ctx.token?.orgId,
      jti: ctx.token?.jti,
      cert_subject: ctx.cert?.subject,
      cert_x5t_s256: ctx.cert?.x5tS256,
      request_id: ctx.requestId,
      latency_ms: Math.round((performance.now() - ctx.started) * 1000) / 1000,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const ctx: RequestContext = {
      // Random, never a counter: partners see request ids and must learn nothing of others' traffic.
      requestId: randomUUID(),
      started: performance.now(),
      method: req.method ?? 'GET',
      path: q === -1 ? url : url.slice(0, q),
      cert: undefined,
      token: undefined,
      client: undefined,
      route: undefined,
      segments: NO_SEGMENTS,
      allowReason: GATEWAY_REASONS.ok,
    };
    let identity: IdentityHeaders;
    try {
      const decided = authorize(req, ctx);
      identity = decided instanceof Promise ? await decided : decided;
    } catch (err) {
      const refusal =
        err instanceof GatewayError
          ? err
          : new GatewayError(
              GATEWAY_REASONS.internalError,
              500,
              'an internal error occurred; it has been logged',
            );
      if (!(err instanceof GatewayError))
        logger.error({ err, request_id: ctx.requestId }, 'gateway step failed');
      // Unread request bodies of refused requests are discarded, not buffered.
      req.resume();
      sendProblem(res, refusal, { realm, requestId: ctx.requestId, instance: ctx.path });
      record(ctx, 'deny', refusal.reason, refusal.status);
      return;
    }
    try {
      const status = await upstream.forward(req, res, url, identity);
      record(ctx, 'allow', ctx.allowReason, status);
    } catch (err) {
      const failure =
        err instanceof GatewayError
          ? err
          : new GatewayError(GATEWAY_REASONS.upstreamUnavailable, 502, 'the upstream API is unavailable');
      req.resume();
      sendProblem(res, failure, { realm, requestId: ctx.requestId, instance: ctx.path });
      record(ctx, 'allow', failure.reason, failure.status);
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
    { name: 'gateway', limits: options.limits, logger },
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
  jwks
    .refresh()
    .catch((err: Error) => logger.warn({ err: err.message }, 'gateway could not fetch the JWKS yet'));

  return {
    url,
    port,
    stats: () => decisions.stats(),
    setRoutes(next) {
      routes = compileRouteTable(next);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await upstream.close();
      await jwks.close();
    },
  };
}
