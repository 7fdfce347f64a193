import { timingSafeEqual } from 'node:crypto';
import type { PresentedCertificate } from './check-client-certificate.ts';
import { GATEWAY_REASONS, invalidToken } from './gateway-error.ts';
import type { AccessToken } from './verify-access-token.ts';

/**
 * Step 3, RFC 8705 §3: the token's cnf.x5t#S256 must equal the thumbprint of the certificate presented on
 * this connection, so a stolen token is useless without the client's private key. DPoP (RFC 9449 §7,
 * cnf.jkt) will be the other accepted binding; until then an unbound token is refused.
 */
export function checkSenderConstraint(token: AccessToken, cert: PresentedCertificate): void {
  const actual = token.cnfX5tS256Bytes;
  if (actual === undefined) {
    throw invalidToken(GATEWAY_REASONS.tokenNotBound, 'the token is not bound to a client certificate');
  }
  const expected = cert.x5tS256Bytes;
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw invalidToken(
      GATEWAY_REASONS.tokenBindingMismatch,
      'the token is bound to a different client certificate',
    );
  }
}
