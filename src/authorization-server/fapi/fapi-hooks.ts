import type { Configuration, KoaContextWithOIDC, Provider } from 'oidc-provider';
import { errors } from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { certificateStateOf } from '../token-endpoint/certificate-state.ts';
import {
  FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS,
  FAPI_SIGNING_ALGS,
  type FapiProfile,
  isFapiClient,
} from './fapi-profile.ts';

type Features = NonNullable<Configuration['features']>;
type RequestObjectRule = NonNullable<NonNullable<Features['requestObjects']>['assertJwtClaimsAndHeader']>;
type ClientAssertionRule = NonNullable<Configuration['assertJwtClientAuthClaimsAndHeader']>;

const isFapiAlg = (alg: unknown) =>
  typeof alg === 'string' && (FAPI_SIGNING_ALGS as readonly string[]).includes(alg);

function refuse(ErrorClass: new (description: string) => Error, description: string): never {
  throw new ErrorClass(description);
}

/**
 * oidc-provider's `features.fapi`: its FAPI 2.0 checks (PKCE required, `redirect_uri` required and never
 * implied) for the clients held to the profile, per request. With the feature on, oidc-provider also stops
 * accepting access tokens in the query string, for every client (RFC 6750 §2.3 is not offered at all).
 */
export function fapiFeature(): NonNullable<Features['fapi']> {
  return {
    enabled: true,
    profile: (_ctx: KoaContextWithOIDC, client: unknown) => (isFapiClient(client) ? '2.0' : undefined),
  } as NonNullable<Features['fapi']>;
}

/**
 * The Request Object rules of a FAPI client, before the platform's own (`rules`, RFC 9101 + OpenID Federation
 * §12.1.1.1 for every client: aud the issuer alone, exp required and near, asymmetric signatures, one use):
 * FAPI 2.0 Message Signing, authorization server: `nbf` and `exp` required, `exp` − `nbf` at most 60 minutes,
 * `nbf` no more than 60 minutes in the past; signed with PS256, ES256 or EdDSA (FAPI 2.0 SP, cryptography).
 * A pushed request was checked when it was pushed (RFC 9126 §4).
 */
export function withFapiRequestObjectRules(
  rules: RequestObjectRule,
  options: { clock: () => Date; skewSeconds: number },
): RequestObjectRule {
  return async (ctx, claims, header, client) => {
    if (isFapiClient(client) && !('PushedAuthorizationRequest' in ctx.oidc.entities)) {
      const fail = (d: string) => refuse(errors.InvalidRequestObject, d);
      if (!isFapiAlg(header.alg)) {
        fail(`a FAPI 2.0 client's Request Object must be signed with ${FAPI_SIGNING_ALGS.join(', ')}`);
      }
      const { nbf, exp } = claims as { nbf?: unknown; exp?: unknown };
      if (typeof nbf !== 'number' || !Number.isFinite(nbf))
        fail("the Request Object must carry an 'nbf' claim");
      if (typeof exp !== 'number' || !Number.isFinite(exp))
        fail("the Request Object must carry an 'exp' claim");
      const lifetime = (exp as number) - (nbf as number);
      if (lifetime <= 0 || lifetime > FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS) {
        fail(
          `the Request Object's 'exp' must be at most ${FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS} seconds after its 'nbf'`,
        );
      }
      const now = Math.floor(options.clock().getTime() / 1000);
      if ((nbf as number) < now - FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS - options.skewSeconds) {
        fail(
          `the Request Object's 'nbf' must be no more than ${FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS} seconds in the past`,
        );
      }
    }
    await rules(ctx, claims, header, client);
  };
}

/**
 * A FAPI client's `private_key_jwt` assertion (FAPI 2.0 SP, authorization server): the issuer identifier as
 * its one audience ("shall only accept its issuer identifier value as the audience" — not the token
 * endpoint URL RFC 7523 §3 also allows), signed with PS256, ES256 or EdDSA. Then the platform's own rules.
 */
export function withFapiClientAssertionRules(
  rules: ClientAssertionRule,
  issuer: string,
): ClientAssertionRule {
  return async (ctx, claims, header, client) => {
    if (isFapiClient(client)) {
      const fail = (d: string) => refuse(errors.InvalidClientAuth, d);
      if (!isFapiAlg((header as { alg?: unknown } | undefined)?.alg)) {
        fail(`a FAPI 2.0 client's assertion must be signed with ${FAPI_SIGNING_ALGS.join(', ')}`);
      }
      const { aud } = (claims ?? {}) as { aud?: unknown };
      if (aud !== issuer && !(Array.isArray(aud) && aud.length === 1 && aud[0] === issuer)) {
        fail(`the audience of a FAPI 2.0 client's assertion must be the issuer identifier ${issuer} alone`);
      }
    }
    await rules(ctx, claims, header, client);
  };
}

/** The grants whose tokens a FAPI client must hold a key for. */
const HOLDER_OF_KEY_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

/**
 * FAPI 2.0 SP, authorization server: "shall only issue sender-constrained access tokens" (RFC 8705 mTLS or
 * RFC 9449 DPoP). A FAPI client's token request presenting neither a client certificate nor a DPoP proof is
 * refused before anything is looked up or consumed — whatever binding its metadata asks for. The grant
 * handlers oidc-provider registered are wrapped in place (their context has the authenticated client).
 */
export function requireHolderOfKey(provider: Provider): void {
  const { grantTypeHandlers } = instance(provider) as {
    grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>>;
  };
  for (const grantType of HOLDER_OF_KEY_GRANTS) {
    const handler = grantTypeHandlers.get(grantType);
    if (!handler) continue;
    grantTypeHandlers.set(grantType, async (ctx) => {
      if (isFapiClient(ctx.oidc.client)) {
        const certificate = certificateStateOf(ctx)?.presented;
        const dpop = ctx.get('dpop');
        if (!certificate && !dpop) {
          // invalid_grant as oidc-provider answers a missing binding, but with its reason shown (oidc-provider's
          // InvalidGrant shows only "grant request is invalid").
          const err = new errors.CustomOIDCProviderError(
            'invalid_grant',
            'a FAPI 2.0 client must prove possession of a key: present its TLS client certificate (RFC 8705) or a DPoP proof (RFC 9449)',
          );
          Object.assign(err, { status: 400, statusCode: 400 });
          throw err;
        }
      }
      await handler(ctx);
    });
  }
}

/**
 * FAPI 2.0 SP, authorization server: "shall not use refresh token rotation except in extraordinary
 * circumstances" — a FAPI client's refresh tokens are sender-constrained and confidential, so never rotated.
 * Public clients rotate on every use; other clients at 70% of the lifetime (oidc-provider's rule).
 */
export function rotateRefreshToken(ctx: KoaContextWithOIDC): boolean {
  const { RefreshToken: refreshToken, Client: client } = ctx.oidc.entities;
  if (!refreshToken || isFapiClient(client)) return false;
  if (refreshToken.totalLifetime() >= 365.25 * 24 * 60 * 60) return false;
  // RFC 9700 §4.14.2: a public client's refresh token is rotated on every use, besides being DPoP-bound
  // (RFC 9449 §5): a stolen-and-used token shows up as reuse, which revokes the grant.
  if (client?.clientAuthMethod === 'none') return true;
  return refreshToken.ttlPercentagePassed() >= 70;
}

/** Whether every authorization code client is held to the profile unless it opts out. */
export const platformRequiresPar = (profile: FapiProfile) => profile === '2.0';
