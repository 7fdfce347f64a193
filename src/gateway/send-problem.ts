import type { ServerResponse } from 'node:http';
import type { GatewayError } from './gateway-error.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
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

/** RFC 9457 problem details with our stable `code`; the detail is our own message, never request data. */
export function sendProblem(
  res: ServerResponse,
  err: GatewayError,
  context: { realm: string; requestId: string; instance: string },
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: `urn:accredit:problem:${err.reason}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    code: err.reason,
    detail: err.message,
    instance: context.instance,
    request_id: context.requestId,
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': context.requestId,
  };
  const challenge = bearerChallenge(err, context.realm);
  if (challenge) headers['www-authenticate'] = challenge;
  res.writeHead(err.status, headers);
  res.end(body);
}
