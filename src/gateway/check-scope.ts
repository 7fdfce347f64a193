import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { RouteMatch } from './match-route.ts';
import type { AccessToken } from './verify-access-token.ts';

function granted(token: AccessToken, route: RouteMatch): boolean {
  const single = route.singleScopes;
  // Fast path, the common catalog: each alternative is one scope, so any one of them in the token grants it.
  if (single !== undefined) {
    for (const scope of single) if (token.scopes.has(scope)) return true;
    return false;
  }
  for (const alternative of route.alternatives) {
    let all = true;
    for (const scope of alternative) {
      if (!token.scopes.has(scope)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/**
 * Step 5b: the token must hold every scope of at least one of the route's alternatives (an OpenAPI security
 * requirement list), else RFC 6750 §3.1 insufficient_scope naming the scopes involved.
 */
export function checkScope(token: AccessToken, route: RouteMatch): void {
  if (granted(token, route)) return;
  throw new GatewayError(
    GATEWAY_REASONS.insufficientScope,
    403,
    `the token lacks the scope this operation requires: ${describeAlternatives(route)}`,
    { challenge: 'insufficient_scope', scope: route.scopeText },
  );
}

function describeAlternatives(route: RouteMatch): string {
  if (route.singleScopes !== undefined) return route.singleScopes.join(' or ');
  return route.alternatives.map((a) => a.join(' and ')).join(', or ');
}
