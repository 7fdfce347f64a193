import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { AuthorizerResult } from '../../../src/doors/aws-lambda/index.ts';
import { httpApiEvent, type RequestShape, restApiEvent } from './events.ts';

/** The Lambda handler as API Gateway sees it: (event, context) → authorizer result, or a failed invocation. */
export type LambdaHandler = (event: never, context: LambdaContext) => Promise<AuthorizerResult | unknown>;

export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  getRemainingTimeInMillis(): number;
}

export interface GatewayAnswer {
  status: number;
  body: string;
  /** What the authorizer returned (or the error message it failed with). */
  authorizer: { result?: unknown; error?: string };
  /** The context API Gateway handed the integration as `$context.authorizer.*` (allowed requests only). */
  context?: Record<string, unknown>;
  /** Headers the upstream received (allowed requests only). */
  upstreamHeaders?: Record<string, string | string[] | undefined>;
}

export interface ApiGatewayOptions {
  kind: 'http' | 'rest';
  /** HTTP API: the authorizer's response format (`simple` responses enabled or not). REST always reads IAM. */
  simpleResponses?: boolean;
  handler: LambdaHandler;
  /** http base URL of the integration; the request is proxied there with the context mapped to headers. */
  upstream: string;
}

/** IAM's string match: `*` any run of characters, `?` one character, everything else literally. */
function iamMatch(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`, 's').test(value);
}

const ACTIONS = ['execute-api:Invoke', 'execute-api:*', '*'];

/**
 * Evaluates an IAM policy for `arn` as API Gateway does: an explicit Deny wins, else an Allow admits, else the
 * request is denied. A malformed policy is a configuration error (500), never an Allow.
 */
export function evaluatePolicy(
  result: unknown,
  arn: string,
  requirePrincipal: boolean,
): 'allow' | 'deny' | 'invalid' {
  const r = result as { principalId?: unknown; policyDocument?: { Version?: unknown; Statement?: unknown } };
  if (requirePrincipal && (typeof r?.principalId !== 'string' || r.principalId === '')) return 'invalid';
  const doc = r?.policyDocument;
  if (doc?.Version !== '2012-10-17' || !Array.isArray(doc.Statement)) return 'invalid';
  let allowed = false;
  for (const s of doc.Statement as Array<Record<string, unknown>>) {
    const actions = ([] as unknown[]).concat(s.Action);
    const resources = ([] as unknown[]).concat(s.Resource);
    if (!['Allow', 'Deny'].includes(s.Effect as string)) return 'invalid';
    if (!actions.every((a) => typeof a === 'string') || !resources.every((x) => typeof x === 'string'))
      return 'invalid';
    const applies =
      actions.some((a) => ACTIONS.includes(a as string)) && resources.some((x) => iamMatch(x as string, arn));
    if (!applies) continue;
    if (s.Effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'deny';
}

function contextIsValid(context: unknown): context is Record<string, string | number | boolean> {
  if (context === undefined) return true;
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return false;
  return Object.values(context).every((v) => ['string', 'number', 'boolean'].includes(typeof v));
}

/** The headers an echoing upstream sent back as its body; empty for any other upstream. */
function echoed(body: string): Record<string, string | string[] | undefined> {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}

function forward(
  upstream: string,
  shape: RequestShape,
  context: Record<string, unknown>,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  // A parameter mapping as an operator configures it: `$context.authorizer.client_id` → x-accredit-client-id, …
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(context))
    headers[`x-accredit-${key.replaceAll('_', '-')}`] = String(value);
  return new Promise((resolve, reject) => {
    const url = new URL(`${shape.path}${shape.query ? `?${shape.query}` : ''}`, upstream);
    const req = request(url, { method: shape.method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: echoed(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * API Gateway in front of an upstream with a Lambda REQUEST authorizer: builds the event exactly as the API kind
 * sends it, invokes the handler with a Lambda context, and interprets the result as API Gateway does:
 * - REST: `Error('Unauthorized')` → 401; any other failure → 500; a policy whose Deny applies (or with no Allow
 *   for the method ARN) → 403; an Allow → the integration is called with the context;
 * - HTTP API, simple responses: `isAuthorized` true → integration, false → 403; a failure → 500;
 * - HTTP API, IAM responses: as REST, except that a failure (even `Unauthorized`) → 500.
 * Authorizer caching is off (every request invokes the authorizer).
 */
export function apiGateway(options: ApiGatewayOptions) {
  return async function invoke(shape: RequestShape): Promise<GatewayAnswer> {
    const event = options.kind === 'http' ? httpApiEvent(shape) : restApiEvent(shape);
    const arn = 'routeArn' in event ? event.routeArn : event.methodArn;
    const context: LambdaContext = {
      awsRequestId: randomUUID(),
      functionName: 'accredit-authorizer',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:accredit-authorizer',
      memoryLimitInMB: '256',
      getRemainingTimeInMillis: () => 5000,
    };
    let result: unknown;
    try {
      result = await options.handler(structuredClone(event) as never, context);
    } catch (err) {
      const message = (err as Error).message;
      if (options.kind === 'rest' && message === 'Unauthorized')
        return { status: 401, body: '{"message":"Unauthorized"}', authorizer: { error: message } };
      return { status: 500, body: '{"message":"Internal Server Error"}', authorizer: { error: message } };
    }
    const r = result as { isAuthorized?: unknown; context?: unknown };
    if (!contextIsValid(r?.context))
      return { status: 500, body: '{"message":"Internal Server Error"}', authorizer: { result } };
    let verdict: 'allow' | 'deny' | 'invalid';
    if (options.kind === 'http' && options.simpleResponses) {
      verdict = typeof r?.isAuthorized === 'boolean' ? (r.isAuthorized ? 'allow' : 'deny') : 'invalid';
    } else {
      verdict = evaluatePolicy(result, arn, options.kind === 'rest');
    }
    if (verdict === 'invalid')
      return { status: 500, body: '{"message":"Internal Server Error"}', authorizer: { result } };
    if (verdict === 'deny') return { status: 403, body: '{"message":"Forbidden"}', authorizer: { result } };
    const ctx = (r.context ?? {}) as Record<string, unknown>;
    const upstream = await forward(options.upstream, shape, ctx);
    return {
      status: upstream.status,
      body: upstream.body,
      authorizer: { result },
      context: ctx,
      upstreamHeaders: upstream.headers,
    };
  };
}
