import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionCore, RequestFacts } from '../decision/types.ts';
import { readEscapedPem } from './forwarded-certificate.ts';
import { answerHttpDoor, badRequest, requestIdOf, single } from './http-door.ts';

export const AUTH_REQUEST_PATH = '/auth_request';
const AUTH_REQUEST_STATUSES = { 429: 403 } as const;

/**
 * nginx `auth_request`: nginx sends a subrequest per client request, with the original method and URI in
 * X-Original-Method / X-Original-URI (set by `proxy_set_header` in the auth location), the client's
 * Authorization and DPoP as received, and `$ssl_client_escaped_cert` (URL-encoded PEM) in a configured
 * header. 2xx allows (identity headers read with `auth_request_set`), 401/403 deny with the challenge.
 * nginx turns any other status of the subrequest into 500: a 429 rate_limited is answered 403 (with
 * `X-Accredit-Reason: rate_limited`, `Retry-After` and the RateLimit headers, for nginx to map back to 429).
 * `origin`: the configured external base URL of the API behind nginx, for a DPoP proof's `htu`.
 */
export function handleAuthRequest(
  core: DecisionCore,
  certificateHeader: string,
  req: IncomingMessage,
  res: ServerResponse,
  origin?: string,
): Promise<void> {
  const method = single(req.headers['x-original-method'])?.toUpperCase() ?? '';
  const target = single(req.headers['x-original-uri']) ?? '';
  const certificate = readEscapedPem(single(req.headers[certificateHeader]), certificateHeader);
  const facts: RequestFacts = {
    method,
    target,
    authorization: single(req.headers.authorization),
    dpop: single(req.headers.dpop),
    ...(origin !== undefined ? { origin } : {}),
    certificate: certificate === 'refused' ? undefined : certificate,
    requestId: requestIdOf(req.headers),
  };
  const refusal =
    method === '' || !/^[A-Z]+$/.test(method) || target === ''
      ? badRequest('X-Original-Method and X-Original-URI are required')
      : undefined;
  return answerHttpDoor('auth_request', core, req, res, facts, certificate, refusal, AUTH_REQUEST_STATUSES);
}
