import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionCore, RequestFacts } from '../decision/types.ts';
import { readXfcc } from './forwarded-certificate.ts';
import { answerHttpDoor, requestIdOf, single } from './http-door.ts';

export const EXT_AUTHZ_PREFIX = '/ext_authz';

/**
 * Envoy ext_authz with an HTTP authorization service (`http_service.path_prefix: /ext_authz`): Envoy sends
 * the client's method, its path after the prefix, and the allowed headers (authorization, dpop and
 * x-forwarded-client-cert when `forward_client_cert_details` sets it), without the body. 200 allows and
 * Envoy copies `allowed_upstream_headers` (x-accredit-*) upstream; anything else is returned to the
 * client with its body and www-authenticate.
 */
export function handleExtAuthz(
  core: DecisionCore,
  req: IncomingMessage,
  res: ServerResponse,
  origin?: string,
): Promise<void> {
  const url = req.url ?? '';
  const target = url.slice(EXT_AUTHZ_PREFIX.length) || '/';
  const certificate = readXfcc(single(req.headers['x-forwarded-client-cert']));
  const facts: RequestFacts = {
    method: (req.method ?? 'GET').toUpperCase(),
    target,
    authorization: single(req.headers.authorization),
    dpop: single(req.headers.dpop),
    ...(origin !== undefined ? { origin } : {}),
    certificate: certificate === 'refused' ? undefined : certificate,
    requestId: requestIdOf(req.headers),
  };
  return answerHttpDoor('ext_authz', core, req, res, facts, certificate);
}
