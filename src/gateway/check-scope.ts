import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { RouteMatch } from './match-route.ts';
import type { AccessToken } from './verify-access-token.ts';

/** Step 5b: one of the route's catalog scopes must be in the token (RFC 6750 §3.1 insufficient_scope). */
export function checkScope(token: AccessToken, route: RouteMatch): void {
  for (const scope of route.scopes) if (token.scopes.has(scope)) return;
  throw new GatewayError(
    GATEWAY_REASONS.insufficientScope,
    403,
    `the token lacks the scope this operation requires: ${route.scopeText}`,
    { challenge: 'insufficient_scope', scope: route.scopeText },
  );
}
