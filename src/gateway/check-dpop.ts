import { GATEWAY_REASONS, type GatewayError, invalidToken } from './gateway-error.ts';
import type { RouteDpop } from './match-route.ts';
import type { AccessToken } from './verify-access-token.ts';

/**
 * DPoP (RFC 9449) offered where it cannot be honoured: refused by the operation's catalog entry (or no entry
 * matched, so none accepts it), or accepted by it while this gateway does not verify proofs yet. Either way
 * the token is not usable here: 401 invalid_token. Issue 14 replaces the `accepted` branch with the check.
 */
export function dpopRefusal(policy: RouteDpop | undefined): GatewayError {
  if (policy === 'accepted') {
    return invalidToken(GATEWAY_REASONS.dpopUnsupported, 'DPoP proofs are not verified by this gateway yet');
  }
  return invalidToken(GATEWAY_REASONS.dpopNotAccepted, 'this operation does not accept DPoP-bound tokens');
}

/** Step 3a: a DPoP-bound token (cnf.jkt, RFC 9449 §6.1) is never taken as a Bearer token (§7.2). */
export function checkDpopBinding(token: AccessToken, policy: RouteDpop | undefined): void {
  if (token.cnfJkt !== undefined) throw dpopRefusal(policy);
}
