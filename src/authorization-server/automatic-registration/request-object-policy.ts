import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { isEntityIdentifier } from '../../federation/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { oauthError } from './oauth-error.ts';
import { checkRequestObjectClaims } from './proof-claims.ts';

export interface RequestObjectPolicyOptions {
  /** The OP's issuer identifier, which is also its Entity Identifier. */
  issuer: string;
  algorithms: readonly string[];
  clock: Clock;
  skewSeconds: number;
}

type RequestObjectsFeature = NonNullable<NonNullable<Configuration['features']>['requestObjects']>;

/**
 * The Request Object rules of OpenID Federation 1.0 §12.1.1.1 for every client (iss, client_id, aud the
 * issuer alone, no sub, jti, exp), and one use per Request Object: its jti is remembered until it expires.
 * A pushed request was checked, and its jti spent, when it was pushed (RFC 9126 §4).
 */
export function createRequestObjectPolicy(
  options: RequestObjectPolicyOptions,
): NonNullable<RequestObjectsFeature['assertJwtClaimsAndHeader']> {
  return async (ctx: KoaContextWithOIDC, _claims, _header, client) => {
    if ('PushedAuthorizationRequest' in ctx.oidc.entities) return;
    const request = ctx.oidc.params?.request;
    const { payload } = checkRequestObjectClaims(request, {
      clientId: client.clientId,
      audience: options.issuer,
      algorithms: options.algorithms,
      now: options.clock(),
      skewSeconds: options.skewSeconds,
    });
    // §12.1.1.1: "A Request Object MUST only be used once".
    const fresh = await ctx.oidc.provider.ReplayDetection.unique(
      client.clientId,
      `request_object:${payload.jti}`,
      (payload.exp as number) + options.skewSeconds,
    );
    if (!fresh) throw oauthError('invalid_request_object', 'the Request Object has been used before (jti)');
  };
}

/**
 * §12.1.1.2: a client assertion at the PAR endpoint from a client identified by its Entity Identifier has the
 * OP's Entity Identifier as its only audience. Elsewhere (the token endpoint) RFC 7523 §3's audiences stand.
 */
export function createClientAssertionPolicy(
  options: Pick<RequestObjectPolicyOptions, 'issuer'>,
): NonNullable<Configuration['assertJwtClientAuthClaimsAndHeader']> {
  return async (ctx, claims, _header, client) => {
    if (ctx.oidc.route !== 'pushed_authorization_request' || !isEntityIdentifier(client.clientId)) return;
    const aud = claims.aud;
    if (aud !== options.issuer && !(Array.isArray(aud) && aud.length === 1 && aud[0] === options.issuer)) {
      throw oauthError(
        'invalid_client',
        `aud of the client assertion must be ${options.issuer} and nothing else`,
      );
    }
  };
}
