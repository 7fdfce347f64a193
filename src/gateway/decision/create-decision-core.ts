import { randomBytes } from 'node:crypto';
import { systemClock } from '../../shared/clock.ts';
import { createDpopNonces } from '../../shared/dpop/index.ts';
import { createMemoryRateLimitStore } from '../../shared/rate-limit/rate-limit-store.ts';
import { redactPath } from '../../shared/redact-url.ts';
import { createMemoryReplayCache } from '../../shared/replay-cache/index.ts';
import {
  type AcceptedCertificate,
  checkClientCertificate,
  checkIssuedCertificateOwner,
  type PresentedCertificate,
} from '../check-client-certificate.ts';
import { checkBearerNotDpopBound, checkDpopBound, checkDpopKey } from '../check-dpop.ts';
import {
  DPOP_IAT_WINDOW_SECONDS,
  type DpopProofOptions,
  dpopAlgorithms,
  htuOf,
  verifyDpopProof,
} from '../check-dpop-proof.ts';
import { checkLiveness } from '../check-liveness.ts';
import { checkResourceOwner } from '../check-resource-owner.ts';
import { checkScope } from '../check-scope.ts';
import { checkSenderConstraint } from '../check-sender-constraint.ts';
import { createDecisionLog } from '../decision-log.ts';
import { GATEWAY_REASONS, GatewayError, type GatewayReason } from '../gateway-error.ts';
import { createJwksResolver } from '../jwks.ts';
import type { ClientLiveness } from '../liveness.ts';
import { compileRouteTable, type RouteMatch } from '../match-route.ts';
import { DEFAULT_ALGORITHMS } from '../options.ts';
import { parseRequestTarget } from '../parse-request-target.ts';
import { readAccessToken, rejectTokenInQuery } from '../read-access-token.ts';
import { bearerChallenge, dpopChallenge } from '../send-problem.ts';
import { type AccessToken, accessTokenJoseOptions, createTokenVerifier } from '../verify-access-token.ts';
import type { VerifyPool } from '../verify-pool.ts';
import { createCertificateDescriber } from './describe-certificate.ts';
import { createRateLimitStep } from './rate-limit-step.ts';
import type {
  Decision,
  DecisionCore,
  DecisionCoreOptions,
  DenyStatus,
  IdentityContext,
  RequestFacts,
} from './types.ts';
import { parseCertificateBundle } from './verify-chain.ts';

/** What each step has established so far; the decision (and its line) is written from it, allow or deny. */
interface Established {
  cert: AcceptedCertificate | undefined;
  token: AccessToken | undefined;
  client: ClientLiveness | undefined;
  route: RouteMatch | undefined;
  allowReason: 'allowed' | 'public_route';
  /** The request used `Authorization: DPoP` on an operation that accepts it: challenges are DPoP ones. */
  dpop: boolean;
  /** The certificate presented, before any check: a refusal's decision line names its owner (never trusted). */
  presented?: PresentedCertificate | undefined;
}

const PUBLIC_METHODS = new Set(['GET', 'HEAD']);
const NO_STRINGS: string[] = [];

// A verified token is cached and reused: so are its scope and role lists, made once per token.
const tokenLists = new WeakMap<AccessToken, { scopes: string[]; roles: string[] }>();
function listsOf(token: AccessToken): { scopes: string[]; roles: string[] } {
  let lists = tokenLists.get(token);
  if (lists === undefined) {
    lists = { scopes: [...token.scopes], roles: [...token.roles] };
    tokenLists.set(token, lists);
  }
  return lists;
}

function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/**
 * The one decision (steps 0–5 of the architecture) of every door: the own gateway, auth_request, ext_authz,
 * AuthZEN, the Lambda authorizer. A door turns what it received into RequestFacts and enforces the Decision;
 * nothing else reaches this function. Without a promise when the token was verified before.
 */
export async function createDecisionCore(options: DecisionCoreOptions): Promise<DecisionCore> {
  const { liveness, logger } = options;
  const clock = options.clock ?? systemClock;
  const realm = options.realm ?? 'accredit';
  const publicPaths = new Set(options.publicPaths ?? ['/health']);
  // DPoP settings first: a bad one stops the core before anything is started.
  const dpopOptions = options.dpop ?? {};
  const iatWindowSeconds = dpopOptions.iatWindowSeconds ?? DPOP_IAT_WINDOW_SECONDS;
  if (!Number.isInteger(iatWindowSeconds) || iatWindowSeconds < 1 || iatWindowSeconds > 600) {
    throw new Error('dpop.iatWindowSeconds: expected an integer from 1 to 600');
  }
  const ownsReplayCache = dpopOptions.replayCache === undefined;
  const proofOptions: DpopProofOptions = {
    replayCache: dpopOptions.replayCache ?? createMemoryReplayCache(),
    nonces:
      dpopOptions.requireNonce === false
        ? undefined
        : createDpopNonces({
            secret: dpopOptions.nonceSecret ?? randomBytes(32),
            windowSeconds: dpopOptions.nonceWindowSeconds ?? 300,
          }),
    algorithms: dpopAlgorithms(dpopOptions.algorithms),
    iatWindowSeconds,
  };
  const dpopBase = dpopOptions.publicUrl;
  let routes = compileRouteTable(options.routes);
  let describeCertificate = createCertificateDescriber(parseCertificateBundle(options.trustedCa), clock);
  const jwks = createJwksResolver({
    uri: options.jwksUri,
    ca: options.jwksCa,
    cooldownMs: options.jwksCooldownMs ?? 30_000,
    maxAgeMs: options.jwksMaxAgeMs ?? 600_000,
    timeoutMs: 5000,
  });
  const tokenOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
  };
  const verifyThreads = options.verifyThreads ?? 0;
  if (!Number.isInteger(verifyThreads) || verifyThreads < 0 || verifyThreads > 64) {
    throw new Error('verifyThreads: expected an integer from 0 to 64');
  }
  let pool: VerifyPool | undefined;
  // Checks the algorithm allow-list (asymmetric only) before any thread is given it.
  const verifier = createTokenVerifier({
    ...tokenOptions,
    getKey: jwks.getKey,
    cacheSize: options.tokenCacheSize ?? 10_000,
    offload: verifyThreads === 0 ? undefined : { verify: (token, nowMs) => pool?.verify(token, nowMs) },
  });
  // The threads are started only when asked for (the Lambda authorizer never does): the module is loaded late.
  if (verifyThreads > 0) {
    const { createVerifyPool } = await import('../verify-pool.ts');
    pool = createVerifyPool({
      threads: verifyThreads,
      options: accessTokenJoseOptions(tokenOptions),
      keys: jwks,
      logger,
    });
  }
  const log = createDecisionLog(logger, options.onDecision);
  const rateLimitOptions = options.rateLimit ?? {};
  const rateLimitFail = rateLimitOptions.onStoreError ?? 'open';
  if (rateLimitFail !== 'open' && rateLimitFail !== 'closed') {
    throw new Error('rateLimit.onStoreError: expected open or closed');
  }
  const ownsRateLimitStore = rateLimitOptions.store === undefined;
  const rateLimitStore = rateLimitOptions.store ?? createMemoryRateLimitStore();
  const rateLimits = createRateLimitStep({
    liveness,
    store: rateLimitStore,
    failClosed: rateLimitFail === 'closed',
    logger,
  });

  /** Steps 1–5; throws a GatewayError at the first refusal, returns the identity to assert upstream. */
  function authorize(facts: RequestFacts, ctx: Established, segments: { value: readonly string[] }) {
    // Fail closed: a state the platform no longer keeps current may admit what it has revoked.
    const stale = options.staleness?.();
    if (stale !== undefined) throw new GatewayError(GATEWAY_REASONS.feedStale, 503, stale);
    const now = clock();
    const target = parseRequestTarget(facts.target);
    const presented = facts.certificate === undefined ? undefined : describeCertificate(facts.certificate);
    ctx.presented = presented;
    if (publicPaths.has(target.path) && PUBLIC_METHODS.has(facts.method)) {
      // No token names a client here: the certificate's own application must be active.
      const cert = checkClientCertificate(presented, liveness, now);
      ctx.cert = cert;
      checkIssuedCertificateOwner(cert, liveness);
      ctx.allowReason = 'public_route';
      return undefined;
    }
    // Looked up before step 1, whose demands the operation sets; a path no operation matches demands what
    // the strictest does, so that its 404 is told only to an authenticated caller.
    const route = routes.match(facts.method, target.segments);
    ctx.route = route;
    segments.value = target.segments;
    // A certificate that is presented is checked whatever the operation: one rule, never a silent downgrade.
    const cert =
      route?.mtls === 'optional' && presented === undefined
        ? undefined
        : checkClientCertificate(presented, liveness, now);
    ctx.cert = cert;
    rejectTokenInQuery(target.query);
    if (route?.auth === 'public') {
      // No token is read; only a presented, trusted certificate is asserted, while its application is active.
      ctx.allowReason = 'public_route';
      if (cert !== undefined) checkIssuedCertificateOwner(cert, liveness);
      return undefined;
    }
    const base = facts.origin ?? dpopBase;
    const presentedToken = readAccessToken(facts.authorization, route?.dpop, base !== undefined);
    const raw = presentedToken.raw;
    if (presentedToken.dpop) {
      ctx.dpop = true;
      const htu = htuOf(base as string, facts.target) ?? '';
      const proof = (token: AccessToken) =>
        proveDpop(ctx, token, facts, htu, raw, now.getTime()).then(() => admit(ctx, token, segments.value));
      const cached = verifier.cached(raw, now.getTime());
      if (cached) return proof(cached);
      return verifier.verify(raw, now).then(proof);
    }
    const cached = verifier.cached(raw, now.getTime());
    if (cached) return admitBearer(ctx, cached, segments.value);
    return verifier.verify(raw, now).then((token) => admitBearer(ctx, token, segments.value));
  }

  /** Step 3a of a DPoP request (RFC 9449 §4.3, §7): the proof is valid and signed by the token's key. */
  async function proveDpop(
    ctx: Established,
    token: AccessToken,
    facts: RequestFacts,
    htu: string,
    raw: string,
    nowMs: number,
  ): Promise<void> {
    ctx.token = token;
    const cnfJkt = checkDpopBound(token);
    const { jkt } = await verifyDpopProof(proofOptions, {
      proof: facts.dpop,
      method: facts.method,
      htu,
      accessToken: raw,
      nowMs,
    });
    checkDpopKey(cnfJkt, jkt);
  }

  /** Step 3a of a Bearer request: not a DPoP-bound token (RFC 9449 §7.2), then steps 3–5. */
  function admitBearer(ctx: Established, token: AccessToken, segments: readonly string[]): AccessToken {
    ctx.token = token;
    checkBearerNotDpopBound(token, ctx.route?.dpop);
    return admit(ctx, token, segments);
  }

  /** Steps 3–5 once the token is verified (and, with DPoP, its proof). */
  function admit(ctx: Established, token: AccessToken, segments: readonly string[]): AccessToken {
    ctx.token = token;
    const { route, cert } = ctx;
    // RFC 8705 §3: a certificate-bound token needs its certificate. A DPoP-proven token needs none, unless
    // it is bound to a certificate too; whether the connection must present one is the route's `mtls`.
    if (!ctx.dpop || token.cnfX5tS256Bytes !== undefined) {
      checkSenderConstraint(token, cert, route?.mtls ?? 'required');
    }
    const client = checkLiveness(token, cert, liveness);
    ctx.client = client;
    if (!route) throw new GatewayError(GATEWAY_REASONS.routeNotFound, 404, 'no such operation');
    checkScope(token, route);
    // Before the upstream is contacted: it is never asked for another organisation's resource.
    if (route.ownerIndex >= 0) checkResourceOwner(route, segments, client);
    // Seam: a Cedar policy attached to the route is evaluated here, only on routes that carry one.
    return token;
  }

  function identityOf(ctx: Established): IdentityContext {
    const { token, client, cert } = ctx;
    const lists = token === undefined ? undefined : listsOf(token);
    return {
      clientId: client?.clientId ?? token?.clientId,
      orgId: client?.orgId ?? token?.orgId,
      scopes: lists?.scopes ?? NO_STRINGS,
      roles: lists?.roles ?? NO_STRINGS,
      jti: token?.jti,
      certX5tS256: cert?.x5tS256,
      certSubject: cert?.subject,
      route: ctx.route?.pathPattern,
      ...(client?.environment !== undefined ? { environment: client.environment } : {}),
    };
  }

  /**
   * What the decision line of a refusal says about who asked. A refusal before the client is established (a
   * revoked, expired or unknown certificate) still names the application and organisation the presented
   * certificate was issued or registered to, so operators see it under that organisation: for the log only,
   * never an authorization input and never sent to the caller.
   */
  function refusedIdentity(ctx: Established): IdentityContext | undefined {
    const identity = ctx.cert || ctx.token || ctx.route ? identityOf(ctx) : undefined;
    const presented = ctx.presented;
    if (identity?.clientId !== undefined || presented === undefined) return identity;
    const clientId =
      liveness.issuedCertificateOwner(presented.x5tS256) ??
      liveness.selfSignedOwner(presented.x5tS256)?.clientId;
    const owner = clientId === undefined ? undefined : liveness.client(clientId);
    return {
      ...(identity ?? { scopes: NO_STRINGS, roles: NO_STRINGS, jti: undefined, route: undefined }),
      clientId,
      orgId: owner?.orgId,
      certX5tS256: presented.x5tS256,
      certSubject: presented.subject,
    };
  }

  function allow(ctx: Established, requestId: string): Decision {
    const identity = identityOf(ctx);
    const headers: Record<string, string> = {};
    const { token, client } = ctx;
    const nonce = nonceFor(ctx);
    if (token !== undefined && client !== undefined) {
      headers['x-accredit-client-id'] = client.clientId;
      headers['x-accredit-org-id'] = client.orgId;
      headers['x-accredit-scopes'] = token.scopeText;
      headers['x-accredit-roles'] = token.rolesText;
      // Issue 15: sandbox or production, as the directory holds it (stripped when it arrives from outside).
      if (client.environment !== undefined) headers['x-accredit-environment'] = client.environment;
    }
    if (ctx.cert !== undefined) headers['x-accredit-cert-x5t-s256'] = ctx.cert.x5tS256;
    if (token !== undefined) headers['x-accredit-token-jti'] = token.jti;
    headers['x-request-id'] = requestId;
    const decision: Decision = { allow: true, status: 200, reason: ctx.allowReason, identity, headers };
    if (nonce !== undefined) decision.dpopNonce = nonce;
    return decision;
  }

  /** RFC 9449 §8.2: a fresh nonce with every answer to a DPoP request, so the client has one for the next. */
  function nonceFor(ctx: Established): string | undefined {
    return ctx.dpop && proofOptions.nonces !== undefined
      ? proofOptions.nonces.current(clock().getTime())
      : undefined;
  }

  function deny(ctx: Established, err: unknown): Decision {
    // Only refusals are decisions; anything else is a fault of ours, for the door to answer 500.
    if (!(err instanceof GatewayError)) throw err;
    // RFC 9449 §7.1: a refused DPoP request is answered with a DPoP challenge naming the accepted algorithms.
    const dpop = err.dpop !== undefined || (ctx.dpop && (err.status === 401 || err.challenge !== undefined));
    const decision: Decision = {
      allow: false,
      status: err.status as DenyStatus,
      reason: err.reason,
      detail: err.message,
      challenge: dpop ? dpopChallenge(err, proofOptions.algorithms) : bearerChallenge(err, realm),
      identity: refusedIdentity(ctx),
    };
    const nonce = dpop ? nonceFor({ ...ctx, dpop: true }) : undefined;
    if (nonce !== undefined) decision.dpopNonce = nonce;
    return decision;
  }

  function decide(facts: RequestFacts): Decision | Promise<Decision> {
    const ctx: Established = {
      cert: undefined,
      token: undefined,
      client: undefined,
      route: undefined,
      allowReason: 'allowed',
      dpop: false,
    };
    const segments: { value: readonly string[] } = { value: NO_STRINGS };
    let result: AccessToken | undefined | Promise<AccessToken>;
    try {
      result = authorize(facts, ctx, segments);
    } catch (err) {
      return deny(ctx, err);
    }
    if (result instanceof Promise) {
      return result.then(
        () => limit(ctx, facts.requestId),
        (err: unknown) => deny(ctx, err),
      );
    }
    return limit(ctx, facts.requestId);
  }

  /** Step 6: the rate limits of the client and its organisation; without a promise when none applies. */
  function limit(ctx: Established, requestId: string): Decision | Promise<Decision> {
    const { client, route, token } = ctx;
    const check =
      client !== undefined && route !== undefined && token !== undefined && ctx.allowReason === 'allowed'
        ? rateLimits.check(client, route)
        : undefined;
    if (check === undefined) return allow(ctx, requestId);
    return check.then((outcome) => {
      const decision = outcome.refusal === undefined ? allow(ctx, requestId) : deny(ctx, outcome.refusal);
      // RFC 9449 §8.2: a DPoP client gets a fresh nonce with every answer, a refusal for its rate too.
      if (!decision.allow && decision.dpopNonce === undefined) {
        const nonce = nonceFor(ctx);
        if (nonce !== undefined) decision.dpopNonce = nonce;
      }
      if (Object.keys(outcome.headers).length > 0) decision.responseHeaders = outcome.headers;
      if (outcome.unchecked && decision.allow) decision.rateLimitUnchecked = true;
      return decision;
    });
  }

  function record(
    door: string,
    facts: RequestFacts,
    decision: Decision,
    latencyMs: number,
    outcome?: { status: number; reason?: string },
  ): void {
    // A token a client put in the path must not land in the log, whatever became of the request.
    const path = redactPath(pathOf(facts.target));
    const identity = decision.identity;
    const reason =
      outcome?.reason ??
      (decision.allow
        ? decision.reason === 'allowed'
          ? GATEWAY_REASONS.ok
          : decision.reason
        : decision.reason);
    log.record({
      door,
      decision: decision.allow ? 'allow' : 'deny',
      reason: reason as GatewayReason,
      status: outcome?.status ?? decision.status,
      method: facts.method,
      route: identity?.route ?? (decision.allow ? path : undefined),
      path,
      client_id: identity?.clientId,
      org_id: identity?.orgId,
      jti: identity?.jti,
      cert_subject: identity?.certSubject,
      cert_x5t_s256: identity?.certX5tS256,
      request_id: facts.requestId,
      latency_ms: Math.round(latencyMs * 1000) / 1000,
      ...(decision.allow && decision.rateLimitUnchecked ? { rate_limit: 'unchecked' as const } : {}),
    });
  }

  return {
    decide,
    setRoutes(next) {
      routes = compileRouteTable(next);
    },
    setTrustedCa(pem) {
      // Parsed first: a bundle with no certificate throws here and the previous one stays in force.
      describeCertificate = createCertificateDescriber(parseCertificateBundle(pem), clock);
    },
    record,
    stats: () => log.stats(),
    async warm() {
      await jwks.refresh();
    },
    async close() {
      await pool?.close();
      await jwks.close();
      if (ownsReplayCache) await proofOptions.replayCache.close();
      if (ownsRateLimitStore) await rateLimitStore.close();
    },
  };
}
