import { timingSafeEqual } from 'node:crypto';
import type { PresentedCertificate } from './check-client-certificate.ts';
import { GATEWAY_REASONS, invalidToken } from './gateway-error.ts';
import type { RouteMtls } from './match-route.ts';
import type { AccessToken } from './verify-access-token.ts';

/**
 * Step 3, RFC 8705 §3: the token's cnf.x5t#S256 must equal the thumbprint of the certificate presented on
 * this connection, so a stolen token is useless without the client's private key. On an `mtls: required`
 * operation an unbound token is refused; on an `optional` one it is accepted, while a bound token still
 * needs its certificate. DPoP (cnf.jkt) is the other binding, refused before this step until issue 14.
 */
export function checkSenderConstraint(
  token: AccessToken,
  cert: PresentedCertificate | undefined,
  mtls: RouteMtls,
): void {
  const actual = token.cnfX5tS256Bytes;
  if (actual === undefined) {
    if (mtls === 'optional') return;
    throw invalidToken(GATEWAY_REASONS.tokenNotBound, 'the token is not bound to a client certificate');
  }
  if (cert === undefined) {
    throw invalidToken(
      GATEWAY_REASONS.tokenBindingMismatch,
      'the token is bound to a client certificate that was not presented',
    );
  }
  const expected = cert.x5tS256Bytes;
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw invalidToken(
      GATEWAY_REASONS.tokenBindingMismatch,
      'the token is bound to a different client certificate',
    );
  }
}
