/**
 * FAPI 2.0 Security Profile (OpenID Foundation, final, February 2025): which clients it applies to.
 *
 * The platform has one profile (config `fapi.profile`): `2.0`, the default, holds every authorization code
 * client registered through the directory to it; `off` holds none. A client without the authorization code
 * grant is held to it only when its metadata asks. A client's own `fapi_profile` metadata
 * (`2.0` or `off`, set by an operator on the application, or `2.0` asked for at dynamic registration)
 * overrides the platform's. OpenID Federation RPs registered automatically (§12.1) follow their trust
 * framework: they are held to the profile only when their metadata names it, since §12.1 lets them send a
 * Request Object by value to the authorization endpoint, which the profile's PAR requirement forbids.
 */
export const FAPI_PROFILES = ['2.0', 'off'] as const;
export type FapiProfile = (typeof FAPI_PROFILES)[number];

/** The client metadata naming a client's profile (an Accredit extension, like `org_id`). */
export const FAPI_CLIENT_METADATA = 'fapi_profile';

export const isFapiProfile = (value: unknown): value is FapiProfile =>
  typeof value === 'string' && (FAPI_PROFILES as readonly string[]).includes(value);

/**
 * FAPI 2.0 Security Profile, cryptography: JWS with PS256, ES256 or EdDSA (Ed25519) only — for client
 * assertions and Request Objects of a FAPI client (the platform also accepts ES384 from other clients).
 */
export const FAPI_SIGNING_ALGS = ['PS256', 'ES256', 'EdDSA'] as const;

/** FAPI 2.0 Message Signing: a Request Object's `exp` at most 60 minutes after its `nbf`, `nbf` at most 60 minutes old. */
export const FAPI_REQUEST_OBJECT_MAX_LIFETIME_SECONDS = 3600;

/** FAPI 2.0 Security Profile: authorization codes live at most 60 seconds. */
export const FAPI_AUTHORIZATION_CODE_TTL_SECONDS = 60;

/**
 * The profile a client is held to: its own metadata first, then the platform's for an authorization code
 * client (the profile is the code flow's; a client credentials client is already mTLS-authenticated with
 * certificate-bound tokens), never for a federation RP.
 */
export function effectiveFapiProfile(
  platform: FapiProfile,
  client: { registrationType: string; grantTypes: readonly string[]; authMethod?: string },
  metadata: Record<string, unknown>,
): FapiProfile {
  // FAPI 2.0 SP, authorization server: "shall only issue sender-constrained access tokens" to confidential
  // clients — a public client (auth method none) is outside the profile by rule, whatever its metadata says
  // (the directory refuses fapi_profile "2.0" for one). It stays DPoP-bound and PKCE-protected (docs/dpop.md).
  if (client.authMethod === 'none') return 'off';
  const own = metadata[FAPI_CLIENT_METADATA];
  if (isFapiProfile(own)) return own;
  if (client.registrationType === 'federation' || !client.grantTypes.includes('authorization_code'))
    return 'off';
  return platform;
}

/** oidc-provider's client, as the FAPI hooks read it. */
export interface FapiClient {
  clientId: string;
  fapi_profile?: unknown;
}

export const isFapiClient = (client: unknown): boolean =>
  (client as FapiClient | undefined)?.fapi_profile === '2.0';
