import { GATEWAY_REASONS, type GatewayError, invalidDpop, invalidToken } from './gateway-error.ts';
import type { RouteDpop } from './match-route.ts';
import type { AccessToken } from './verify-access-token.ts';

/**
 * DPoP (RFC 9449) offered where the operation's catalog entry refuses it (or no entry matched, so none
 * accepts it): the token is not usable here, 401 invalid_token with a Bearer challenge (the scheme to use).
 */
export function dpopRefusal(): GatewayError {
  return invalidToken(GATEWAY_REASONS.dpopNotAccepted, 'this operation does not accept DPoP-bound tokens');
}

/**
 * Step 3a, for a token presented as `Bearer`: a DPoP-bound token (cnf.jkt, RFC 9449 §6.1) is never taken as a
 * Bearer token (§7.2), so a stolen one is useless without its proof key.
 */
export function checkBearerNotDpopBound(token: AccessToken, policy: RouteDpop | undefined): void {
  if (token.cnfJkt === undefined) return;
  if (policy === 'refused' || policy === undefined) throw dpopRefusal();
  throw invalidToken(
    GATEWAY_REASONS.dpopTokenAsBearer,
    'the token is DPoP-bound: present it with the DPoP scheme and a proof',
  );
}

/** Step 3a, for a token presented as `DPoP`: it must be DPoP-bound (a certificate-bound one is not). */
export function checkDpopBound(token: AccessToken): string {
  if (token.cnfJkt === undefined) {
    throw invalidDpop(
      GATEWAY_REASONS.dpopTokenNotBound,
      'the token is not DPoP-bound: present it with the Bearer scheme',
      'invalid_token',
    );
  }
  return token.cnfJkt;
}

/** RFC 9449 §6.1, §7: the token's cnf.jkt is the thumbprint of the key that signed the proof. */
export function checkDpopKey(cnfJkt: string, proofJkt: string): void {
  if (cnfJkt !== proofJkt) {
    throw invalidDpop(
      GATEWAY_REASONS.dpopKeyMismatch,
      'the token is bound to another DPoP key than the proof’s',
      'invalid_token',
    );
  }
}
