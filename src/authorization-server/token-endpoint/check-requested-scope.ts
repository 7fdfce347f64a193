import { errors } from 'oidc-provider';

/**
 * The scope rule of a token request for the resource server. RFC 6749 §5.2: a scope beyond what the client's
 * roles grant, known or not, is invalid_scope (thrown). RFC 6749 §3.3: no scope requested means the
 * pre-defined default, every scope the roles grant (returned; undefined when a scope was requested).
 */
export function checkRequestedScope(
  allowedScope: string | undefined,
  requestedScope: string | undefined,
): string | undefined {
  const allowed = new Set((allowedScope ?? '').split(' ').filter(Boolean));
  const requested = requestedScope?.split(' ').filter(Boolean) ?? [];
  for (const scope of requested) {
    if (!allowed.has(scope)) throw new errors.InvalidScope('requested scope is not allowed', scope);
  }
  return requested.length === 0 ? [...allowed].join(' ') : undefined;
}
