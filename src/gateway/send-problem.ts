import type { ServerResponse } from 'node:http';
import type { Decision } from './decision/types.ts';
import type { GatewayError } from './gateway-error.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

// RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
function quotable(text: string): string {
  return text.replace(/"/g, "'").replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** RFC 6750 §3 (and RFC 9110 §11.6.1: every 401 carries a challenge). */
export function bearerChallenge(err: GatewayError, realm: string): string | undefined {
  const challenge = err.challenge ?? (err.status === 401 ? 'invalid_token' : undefined);
  if (challenge === undefined) return undefined;
  let value = `Bearer realm="${quotable(realm)}"`;
  if (challenge === 'none') return value;
  value += `, error="${challenge}", error_description="${quotable(err.message)}"`;
  if (err.scope) value += `, scope="${quotable(err.scope)}"`;
  return value;
}

/**
 * RFC 9449 §7.1: `DPoP` challenge with the error code and the proof algorithms accepted (`algs`). Every
 * refusal of a DPoP-scheme request carries it, so the client learns which scheme and algorithms to use.
 */
export function dpopChallenge(err: GatewayError, algs: readonly string[]): string {
  const bearer = err.challenge === 'none' ? undefined : err.challenge;
  const code = err.dpop ?? bearer ?? 'invalid_token';
  let value = `DPoP error="${code}", error_description="${quotable(err.message)}"`;
  if (err.scope) value += `, scope="${quotable(err.scope)}"`;
  return `${value}, algs="${algs.join(' ')}"`;
}

/** RFC 9457 problem details with our stable `code`; the detail is our own message, never request data. */
export function sendProblem(
  res: ServerResponse,
  err: GatewayError,
  context: { realm: string; requestId: string; instance: string },
): void {
  writeProblem(res, err.status, err.reason, err.message, bearerChallenge(err, context.realm), context);
}

/** The problem of a denying decision, with the challenge the core wrote. */
export function sendDecisionProblem(
  res: ServerResponse,
  decision: Extract<Decision, { allow: false }>,
  context: { requestId: string; instance: string },
): void {
  if (decision.dpopNonce !== undefined) res.setHeader('dpop-nonce', decision.dpopNonce);
  setResponseHeaders(res, decision.responseHeaders);
  writeProblem(res, decision.status, decision.reason, decision.detail, decision.challenge, context);
}

/** The headers a decision has for the client (rate limits), set on a response not yet started. */
export function setResponseHeaders(res: ServerResponse, headers: Record<string, string> | undefined): void {
  if (headers === undefined || res.headersSent) return;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

/** The RFC 9457 body of a refusal, for doors that return it inside their own protocol (ext_authz, AuthZEN). */
export function problemBody(
  status: number,
  reason: string,
  detail: string,
  context: { requestId: string; instance: string },
): string {
  return JSON.stringify({
    type: `urn:accredit:problem:${reason}`,
    title: TITLES[status] ?? 'Error',
    status,
    code: reason,
    detail,
    instance: context.instance,
    request_id: context.requestId,
  });
}

function writeProblem(
  res: ServerResponse,
  status: number,
  reason: string,
  detail: string,
  challenge: string | undefined,
  context: { requestId: string; instance: string },
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(status, reason, detail, context);
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': context.requestId,
  };
  if (challenge) headers['www-authenticate'] = challenge;
  res.writeHead(status, headers);
  res.end(body);
}
