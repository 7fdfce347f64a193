import type { AdapterPayload } from 'oidc-provider';
import {
  effectiveFapiProfile,
  FAPI_CLIENT_METADATA,
  type FapiProfile,
  isFapiProfile,
} from './fapi-profile.ts';

/** The `fapi_profile` an application's metadata names, for its oidc-provider metadata; nothing else passes. */
export function ownFapiProfile(metadata: Record<string, unknown>): { fapi_profile?: FapiProfile } {
  const own = metadata[FAPI_CLIENT_METADATA];
  return isFapiProfile(own) ? { [FAPI_CLIENT_METADATA]: own } : {};
}

/**
 * A client's oidc-provider metadata under the profile it is held to (its own `fapi_profile`, else the
 * platform's). For a FAPI 2.0 client PAR is required (FAPI 2.0 SP, authorization server: "shall require
 * PAR"; RFC 9126 §6 `require_pushed_authorization_requests`): an authorization request not pushed is refused.
 * Access tokens stay sender-constrained as the client's metadata says (RFC 8705 certificate binding, or
 * RFC 9449 DPoP); whatever it says, the token endpoint refuses a FAPI client's request carrying no proof of
 * possession at all (requireHolderOfKey). Response types (`code` only), PKCE (S256 only) and client
 * authentication (mTLS or private_key_jwt) hold for every client of this server already; the profile adds
 * the checks in fapi-hooks.ts.
 */
export function withFapiProfile(payload: AdapterPayload, platform: FapiProfile): AdapterPayload {
  const registrationType = typeof payload.registration_type === 'string' ? payload.registration_type : '';
  const grantTypes = Array.isArray(payload.grant_types) ? payload.grant_types : [];
  const authMethod =
    typeof payload.token_endpoint_auth_method === 'string' ? payload.token_endpoint_auth_method : undefined;
  const profile = effectiveFapiProfile(platform, { registrationType, grantTypes, authMethod }, payload);
  payload[FAPI_CLIENT_METADATA] = profile;
  if (profile === '2.0') payload.require_pushed_authorization_requests = true;
  return payload;
}
