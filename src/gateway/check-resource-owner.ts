import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { ClientLiveness } from './liveness.ts';
import type { RouteMatch } from './match-route.ts';

/**
 * Step 5c, the ownership guard: on an operation whose catalog entry names an owner parameter, that path
 * segment must be the caller's own organisation id, so no partner reaches another's resources whatever the
 * upstream checks. Compared raw, still percent-encoded: organisation ids need no encoding, so only the exact
 * id passes and no spelling of another id can. The message names the parameter, never a value.
 */
export function checkResourceOwner(
  route: RouteMatch,
  segments: readonly string[],
  client: ClientLiveness,
): void {
  if (route.ownerIndex < 0) return;
  if (segments[route.ownerIndex] === client.orgId) return;
  throw new GatewayError(
    GATEWAY_REASONS.resourceOwnerMismatch,
    403,
    `the {${route.ownerParam}} path parameter must be the caller's own organisation id`,
  );
}
