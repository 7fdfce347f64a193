/** Stable reason codes: they appear in problem bodies (`code`), decision logs and counters. */
export const GATEWAY_REASONS = {
  ok: 'ok',
  /** Allowed without a token: the catalog marks the operation `auth: public`. */
  publicRoute: 'public_route',
  clientCertificateRequired: 'client_certificate_required',
  certificateUntrusted: 'certificate_untrusted',
  certificateExpired: 'certificate_expired',
  certificateNotYetValid: 'certificate_not_yet_valid',
  certificateRevoked: 'certificate_revoked',
  certificateClientMismatch: 'certificate_client_mismatch',
  certificateUnknown: 'certificate_unknown',
  certificateApplicationInactive: 'certificate_application_inactive',
  /** An external CA's CRL state is past nextUpdate + tolerance, or was never fetched (fail closed). */
  issuerRevocationStale: 'issuer_revocation_stale',
  /** The certificate's CA is registered by another organisation than the token client's (org-scoped trust). */
  certificateIssuerMismatch: 'certificate_issuer_mismatch',
  /** The registered CA's key no longer matches the pin taken at registration. */
  issuerPinMismatch: 'issuer_pin_mismatch',
  invalidPath: 'invalid_path',
  routeNotFound: 'route_not_found',
  tokenMissing: 'token_missing',
  tokenInQuery: 'token_in_query',
  /** A DPoP scheme or DPoP-bound token (cnf.jkt) on an operation whose catalog entry refuses DPoP. */
  dpopNotAccepted: 'dpop_not_accepted',
  /** DPoP offered at a door that has no external URL to check the proof's `htu` against. */
  dpopUnsupported: 'dpop_unsupported',
  /** `Authorization: DPoP` without a DPoP header, or with several (RFC 9449 §4.3 step 1). */
  dpopProofMissing: 'dpop_proof_missing',
  /** The proof is not a well-formed, correctly signed `dpop+jwt` with every required claim (§4.3 steps 2–6). */
  dpopProofInvalid: 'dpop_proof_invalid',
  /** The proof's `alg` is not in the allow-list (none, HS*, …; §4.3 step 5). */
  dpopAlgorithmNotAllowed: 'dpop_algorithm_not_allowed',
  /** The proof's `jwk` header carries private key material (§4.3 step 7). */
  dpopPrivateKey: 'dpop_private_key',
  /** `htm` is not the request's method (§4.3 step 8). */
  dpopMethodMismatch: 'dpop_method_mismatch',
  /** `htu` is not the request's URI (§4.3 step 9). */
  dpopUriMismatch: 'dpop_uri_mismatch',
  /** `iat` is outside the accepted window, whatever the nonce (§4.3 step 11, §11.1). */
  dpopIatOutOfWindow: 'dpop_iat_out_of_window',
  /** No nonce, or not a current one of ours (§8, §9). */
  dpopNonceRequired: 'dpop_nonce_required',
  /** The proof's `jti` was seen before (§11.1). */
  dpopProofReplayed: 'dpop_proof_replayed',
  /** `ath` is missing or is not the hash of the access token presented (§4.3 step 10, §7). */
  dpopAthMismatch: 'dpop_ath_mismatch',
  /** The token's cnf.jkt is not the thumbprint of the proof's key (§6.1, §7). */
  dpopKeyMismatch: 'dpop_key_mismatch',
  /** `Authorization: DPoP` with a token that is not DPoP-bound (no cnf.jkt). */
  dpopTokenNotBound: 'dpop_token_not_bound',
  /** A Bearer token on an operation whose catalog entry says `dpop: required`. */
  dpopRequired: 'dpop_required',
  /** A DPoP-bound token (cnf.jkt) presented as a Bearer token (§7.2). */
  dpopTokenAsBearer: 'dpop_token_as_bearer',
  tokenMalformed: 'token_malformed',
  tokenTypeInvalid: 'token_type_invalid',
  tokenAlgorithmNotAllowed: 'token_algorithm_not_allowed',
  tokenKeyUnknown: 'token_key_unknown',
  tokenSignatureInvalid: 'token_signature_invalid',
  tokenIssuerInvalid: 'token_issuer_invalid',
  tokenAudienceInvalid: 'token_audience_invalid',
  tokenExpired: 'token_expired',
  tokenNotYetValid: 'token_not_yet_valid',
  tokenClaimsInvalid: 'token_claims_invalid',
  tokenRevoked: 'token_revoked',
  tokenNotBound: 'token_not_bound',
  tokenBindingMismatch: 'token_binding_mismatch',
  jwksUnavailable: 'jwks_unavailable',
  clientUnknown: 'client_unknown',
  clientSuspended: 'client_suspended',
  clientDeleted: 'client_deleted',
  orgSuspended: 'org_suspended',
  orgOffboarded: 'org_offboarded',
  orgMismatch: 'org_mismatch',
  insufficientScope: 'insufficient_scope',
  /** The path's owner parameter is not the caller's organisation id (ownership guard). */
  resourceOwnerMismatch: 'resource_owner_mismatch',
  upstreamUnavailable: 'upstream_unavailable',
  upstreamTimeout: 'upstream_timeout',
  internalError: 'internal_error',
  feedStale: 'feed_stale',
  /** A rate limit of the client or its organisation is used up (issue 16): 429 with Retry-After. */
  rateLimited: 'rate_limited',
  /** The shared rate-limit store failed and the core is configured to fail closed: 503. */
  rateLimitUnavailable: 'rate_limit_unavailable',
} as const;
export type GatewayReason = (typeof GATEWAY_REASONS)[keyof typeof GATEWAY_REASONS];

/**
 * RFC 6750 §3 challenge attached to a 401/403: `none` is a bare challenge (no credentials were offered,
 * §3.1 says no error code then); the others name the §3.1 error code.
 */
export type BearerChallenge = 'none' | 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** RFC 9449 §7.1 / §9 error codes of a `DPoP` challenge. */
export type DpopChallenge = 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce';

export interface GatewayErrorOptions {
  challenge?: BearerChallenge;
  /** A `DPoP` challenge (RFC 9449 §7.1) instead of a Bearer one: the request used the DPoP scheme. */
  dpop?: DpopChallenge;
  /** Required scopes, for the `scope` attribute of an insufficient_scope challenge (RFC 6750 §3). */
  scope?: string;
}

/**
 * A refused request: `reason` is the stable code, `status` the HTTP status, `message` a client-safe
 * description that never contains token material.
 */
export class GatewayError extends Error {
  readonly reason: GatewayReason;
  readonly status: number;
  readonly challenge: BearerChallenge | undefined;
  readonly scope: string | undefined;
  readonly dpop: DpopChallenge | undefined;

  constructor(reason: GatewayReason, status: number, message: string, options: GatewayErrorOptions = {}) {
    super(message);
    this.name = 'GatewayError';
    this.reason = reason;
    this.status = status;
    this.challenge = options.challenge;
    this.scope = options.scope;
    this.dpop = options.dpop;
  }
}

/** 401 invalid_token: the shape of every token failure (RFC 6750 §3.1). */
export function invalidToken(reason: GatewayReason, message: string): GatewayError {
  return new GatewayError(reason, 401, message, { challenge: 'invalid_token' });
}

/** 401 with a `DPoP` challenge (RFC 9449 §7.1): the proof (or the DPoP-scheme token) is refused. */
export function invalidDpop(
  reason: GatewayReason,
  message: string,
  code: DpopChallenge = 'invalid_dpop_proof',
): GatewayError {
  return new GatewayError(reason, 401, message, { dpop: code });
}
