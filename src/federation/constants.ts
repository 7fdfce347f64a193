/** OpenID Federation 1.0 §9: where an entity publishes its Entity Configuration. */
export const ENTITY_CONFIGURATION_PATH = '/.well-known/openid-federation';

/** JWT `typ` header values (§3, §7, §8). Verification rejects any other `typ` for the artefact. */
export const JWT_TYPES = {
  entityStatement: 'entity-statement+jwt',
  trustMark: 'trust-mark+jwt',
  trustMarkDelegation: 'trust-mark-delegation+jwt',
  trustMarkStatusResponse: 'trust-mark-status-response+jwt',
  resolveResponse: 'resolve-response+jwt',
  jwkSet: 'jwk-set+jwt',
  explicitRegistrationResponse: 'explicit-registration-response+jwt',
} as const;

/** Media types of the federation endpoints' requests and responses (§8, §12.2). */
export const MEDIA_TYPES = {
  entityStatement: 'application/entity-statement+jwt',
  trustMark: 'application/trust-mark+jwt',
  trustMarkStatusResponse: 'application/trust-mark-status-response+jwt',
  resolveResponse: 'application/resolve-response+jwt',
  jwkSet: 'application/jwk-set+jwt',
  trustChain: 'application/trust-chain+json',
  explicitRegistrationResponse: 'application/explicit-registration-response+jwt',
} as const;

/** `federation_entity` metadata parameter names of the endpoints (§5.1.1). */
export const ENDPOINT_PARAMETERS = {
  fetch: 'federation_fetch_endpoint',
  list: 'federation_list_endpoint',
  resolve: 'federation_resolve_endpoint',
  trustMark: 'federation_trust_mark_endpoint',
  trustMarkStatus: 'federation_trust_mark_status_endpoint',
  trustMarkList: 'federation_trust_mark_list_endpoint',
  historicalKeys: 'federation_historical_keys_endpoint',
} as const;

/** Entity Types defined by the specification and the ones the platform deals with (§5.1). */
export const ENTITY_TYPES = [
  'federation_entity',
  'openid_relying_party',
  'openid_provider',
  'oauth_authorization_server',
  'oauth_client',
  'oauth_resource',
] as const;

/** JWS algorithms accepted on federation artefacts; `none` and HMAC are never accepted (§3.1, §10.1). */
export const FEDERATION_SIGNING_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'RS256',
] as const;
