import type { Decision, IdentityContext } from '../../gateway/decision/index.ts';

/**
 * How an allow or deny is told to API Gateway:
 * - `simple` (HTTP API only, "simple response"): `{ isAuthorized, context }`;
 * - `iam` (REST APIs always, HTTP APIs when configured): an IAM policy naming the request's own ARN.
 */
export type ResponseMode = 'simple' | 'iam';

/**
 * `exact` (default): the policy names this request's methodArn / routeArn and nothing else. `wildcard`: every
 * method and path of the API's stage (`…/{stage}/*`), so that API Gateway's authorizer cache can reuse one Allow
 * for other routes; that also skips each route's scope check for the cache's TTL, hence never the default.
 */
export type PolicyResource = 'exact' | 'wildcard';

export interface ResultOptions {
  kind: 'http' | 'rest';
  mode: ResponseMode;
  policyResource: PolicyResource;
  /** methodArn (REST) or routeArn (HTTP API) of the request. */
  resource: string;
  requestId: string;
}

/** Context values are strings, numbers or booleans only (API Gateway refuses objects, arrays and null). */
export type AuthorizerContext = Record<string, string | number | boolean>;

export interface IamPolicyResult {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: Array<{ Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }>;
  };
  context: AuthorizerContext;
}

export interface SimpleResult {
  isAuthorized: boolean;
  context: AuthorizerContext;
}

export type AuthorizerResult = IamPolicyResult | SimpleResult;

/** The principal of a policy for a request that named no client (API Gateway requires one on REST). */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

/** REST API's contract: a Lambda authorizer that fails with exactly this message makes API Gateway answer 401. */
export const UNAUTHORIZED = 'Unauthorized';

/** `arn:aws:execute-api:region:account:api/stage/*`: this API stage, every method and path; never `*`. */
export function stageWildcard(arn: string): string {
  const parts = arn.split('/');
  if (parts.length < 3 || !parts[0]!.startsWith('arn:') || parts[1] === '')
    throw new Error(`not an execute-api ARN: ${arn}`);
  return `${parts[0]}/${parts[1]}/*`;
}

function identityContext(identity: IdentityContext, requestId: string): AuthorizerContext {
  const context: AuthorizerContext = {
    scopes: identity.scopes.join(' '),
    roles: identity.roles.join(' '),
    request_id: requestId,
  };
  const optional: Array<[string, string | undefined]> = [
    ['client_id', identity.clientId],
    ['org_id', identity.orgId],
    ['cert_x5t_s256', identity.certX5tS256],
    ['jti', identity.jti],
    ['route', identity.route],
  ];
  for (const [key, value] of optional) if (value !== undefined) context[key] = value;
  return context;
}

function policy(
  effect: 'Allow' | 'Deny',
  principalId: string,
  options: ResultOptions,
  context: AuthorizerContext,
): IamPolicyResult {
  const resource =
    effect === 'Allow' && options.policyResource === 'wildcard'
      ? stageWildcard(options.resource)
      : options.resource;
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
    context,
  };
}

/**
 * The core's decision as API Gateway understands it. Allow: the policy or `isAuthorized: true` with the
 * identity as context (the integration reads it as `$context.authorizer.*`). Deny:
 * - REST API, status 401: throws `Error('Unauthorized')` → API Gateway answers 401 (its UNAUTHORIZED
 *   gateway response, where the operator may add the WWW-Authenticate header);
 * - REST API, any other status (400, 403, 404, 503): a Deny policy → 403 (ACCESS_DENIED gateway response);
 * - HTTP API: `isAuthorized: false` (simple) or a Deny policy (iam) → 403, whatever the status: HTTP APIs
 *   offer an authorizer no way to answer 401 or 503.
 * A denial's context carries `reason`, `status`, `request_id` and the `challenge` for gateway-response templates and access logs
 * (`$context.authorizer.reason`), never token material.
 */
export function authorizerResult(decision: Decision, options: ResultOptions): AuthorizerResult {
  if (decision.allow) {
    const context = identityContext(decision.identity, options.requestId);
    if (options.kind === 'http' && options.mode === 'simple') return { isAuthorized: true, context };
    return policy('Allow', decision.identity.clientId ?? ANONYMOUS_PRINCIPAL, options, context);
  }
  if (options.kind === 'rest' && decision.status === 401) throw new Error(UNAUTHORIZED);
  const context: AuthorizerContext = {
    reason: decision.reason,
    status: decision.status,
    request_id: options.requestId,
  };
  // RFC 6750 §3 / RFC 9449 §7.1: for a gateway response's WWW-Authenticate header.
  if (decision.challenge !== undefined) context.challenge = decision.challenge;
  // 429 rate_limited: for a gateway response template's Retry-After / RateLimit headers (API Gateway answers 403).
  const limits = decision.responseHeaders;
  if (limits?.['retry-after'] !== undefined) context.retry_after = limits['retry-after'];
  if (limits?.ratelimit !== undefined) context.ratelimit = limits.ratelimit;
  if (limits?.['ratelimit-policy'] !== undefined) context.ratelimit_policy = limits['ratelimit-policy'];
  if (options.kind === 'http' && options.mode === 'simple') return { isAuthorized: false, context };
  // The client, when the refusal came after the token named one (for API Gateway's logs; never an Allow).
  return policy('Deny', decision.identity?.clientId ?? ANONYMOUS_PRINCIPAL, options, context);
}
