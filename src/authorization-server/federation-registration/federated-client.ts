import { AUTH_METHODS } from '../../directory/index.ts';
import { FederationError } from '../../federation/index.ts';

/** What the directory record of a federation client is made of, from its resolved RP metadata (§12.2.2 step 8). */
export interface FederatedClient {
  authMethod: (typeof AUTH_METHODS)[number];
  name: string;
  /** The grants of its metadata this server offers, in the order the metadata lists them. */
  grantTypes: string[];
  /** Its https redirection URIs, kept only with the authorization code grant. */
  redirectUris: string[];
  /**
   * Stored with the application: the keys the client authenticates (and binds tokens) with, and the grant
   * types, response types and redirection URIs the authorization server loads it with.
   */
  metadata: Record<string, unknown>;
}

/** The grants this authorization server offers a federation client. */
export const FEDERATION_GRANT_TYPES = ['authorization_code', 'client_credentials'] as const;

const badMetadata = (message: string, field: string) =>
  new FederationError('invalid_client_metadata', 400, message, { field });

function nameOf(entityId: string, rp: Record<string, unknown>): string {
  const name = rp.client_name;
  if (typeof name === 'string' && name.trim().length > 0 && name.trim().length <= 64) return name.trim();
  // The directory needs a short human name; the host of the Entity Identifier is one.
  return new URL(entityId).host.slice(0, 64);
}

/** RFC 6749 §3.1.2: absolute, no fragment; https only, as everything the platform talks to. */
function isHttpsRedirectUri(value: unknown): value is string {
  if (typeof value !== 'string' || value.includes('#') || !URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
}

/**
 * The grants kept from the metadata: those this server offers. The authorization code grant needs an https
 * redirection URI and the `code` response type (OpenID Connect Registration §2 defaults response_types to
 * `code`); without them it is left out rather than registered unusable. No grant_types at all keeps this
 * server's original default, client credentials.
 */
function grantsOf(md: Record<string, unknown>): { grantTypes: string[]; redirectUris: string[] } {
  const declared = md.grant_types ?? ['client_credentials'];
  if (!Array.isArray(declared) || !declared.every((g) => typeof g === 'string')) {
    throw badMetadata('grant_types must be an array of strings', 'grant_types');
  }
  const redirectUris = Array.isArray(md.redirect_uris) ? md.redirect_uris.filter(isHttpsRedirectUri) : [];
  const responseTypes = md.response_types ?? ['code'];
  const codeUsable =
    redirectUris.length > 0 && Array.isArray(responseTypes) && responseTypes.includes('code');
  const grantTypes = [
    ...new Set(
      declared.filter(
        (g) =>
          (FEDERATION_GRANT_TYPES as readonly string[]).includes(g) &&
          (g !== 'authorization_code' || codeUsable),
      ),
    ),
  ];
  if (grantTypes.length === 0) {
    throw badMetadata(
      'grant_types must include client_credentials, or authorization_code with an https redirect_uri, the grants this server offers',
      'grant_types',
    );
  }
  return {
    grantTypes,
    redirectUris: grantTypes.includes('authorization_code') ? [...new Set(redirectUris)] : [],
  };
}

/**
 * The client the platform is willing to register from Resolved Metadata. Only key- or certificate-based
 * authentication (no shared secrets); of the grants, response types and redirection URIs, those this server
 * supports (client credentials; authorization code with PKCE to https redirection URIs). Metadata this server
 * cannot use at all is refused with invalid_client_metadata rather than silently changed.
 */
export function federatedClientFrom(entityId: string, rp: unknown): FederatedClient {
  if (typeof rp !== 'object' || rp === null || Array.isArray(rp)) {
    throw new FederationError(
      'invalid_metadata',
      400,
      'the resolved metadata has no openid_relying_party entry (§12.2.1)',
      { field: 'metadata.openid_relying_party' },
    );
  }
  const md = rp as Record<string, unknown>;
  const method = md.token_endpoint_auth_method;
  if (typeof method !== 'string' || !(AUTH_METHODS as readonly string[]).includes(method)) {
    throw badMetadata(
      `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')} (no shared secrets)`,
      'token_endpoint_auth_method',
    );
  }
  const { grantTypes, redirectUris } = grantsOf(md);
  const metadata: Record<string, unknown> = {};
  if (md.jwks !== undefined) metadata.jwks = md.jwks;
  if (md.jwks_uri !== undefined) metadata.jwks_uri = md.jwks_uri;
  if (md.jwks === undefined && md.jwks_uri === undefined && md.signed_jwks_uri !== undefined) {
    throw badMetadata('signed_jwks_uri is not supported: publish jwks or jwks_uri', 'signed_jwks_uri');
  }
  // Client credentials alone is what every client gets by default (client-metadata.ts): nothing to store.
  if (grantTypes.includes('authorization_code')) {
    metadata.grant_types = grantTypes;
    metadata.response_types = ['code'];
    metadata.redirect_uris = redirectUris;
    // An RP may ask to be held to the FAPI 2.0 Security Profile (docs/fapi.md); it is exempt otherwise.
    if (md.fapi_profile === '2.0') metadata.fapi_profile = '2.0';
  }
  return {
    authMethod: method as FederatedClient['authMethod'],
    name: nameOf(entityId, md),
    grantTypes,
    redirectUris,
    metadata,
  };
}
