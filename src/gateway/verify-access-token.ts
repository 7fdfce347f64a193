import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { GATEWAY_REASONS, GatewayError, type GatewayReason, invalidToken } from './gateway-error.ts';
import { JwksUnavailableError } from './jwks.ts';
import { ASYMMETRIC } from './options.ts';
import { assertB64Token } from './read-access-token.ts';
import { createTokenCache } from './token-cache.ts';
import type { VerifyOffload } from './verify-pool.ts';
import type { PoolVerifyOptions } from './verify-pool-protocol.ts';

/** The verified facts of an RFC 9068 access token the later steps and the upstream rely on. */
export interface AccessToken {
  jti: string;
  clientId: string;
  sub: string;
  orgId: string | undefined;
  scopes: ReadonlySet<string>;
  /** Scopes space-delimited, as forwarded in x-accredit-scopes. */
  scopeText: string;
  roles: readonly string[];
  rolesText: string;
  /** RFC 8705 §3.1 confirmation: the certificate the token is bound to, if any. */
  cnfX5tS256: string | undefined;
  /** The same, as bytes for the constant-time comparison, made once per verified (cached) token. */
  cnfX5tS256Bytes: Buffer | undefined;
  /** RFC 9449 §6.1 confirmation: the JWK thumbprint of the DPoP key the token is bound to, if any. */
  cnfJkt: string | undefined;
  expMs: number;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  getKey: JWTVerifyGetKey;
  algorithms: string[];
  clockToleranceSeconds: number;
  /** Verified tokens kept until their exp; the oldest is evicted beyond this many. */
  cacheSize: number;
  /** Verification threads (verify-pool.ts) for tokens not in the cache; none: every token in this thread. */
  offload?: VerifyOffload | undefined;
}

export interface TokenVerifier {
  /** A token verified before and not yet expired, without a promise: the hot path of keep-alive clients. */
  cached(token: string, nowMs: number): AccessToken | undefined;
  verify(token: string, now: Date): Promise<AccessToken>;
}

// Values that become upstream header values: visible ASCII, no spaces (RFC 9110 §5.5 field-value safety).
const HEADER_SAFE = /^[\x21-\x7E]{1,512}$/;

function claimsInvalid(message: string): GatewayError {
  return invalidToken(GATEWAY_REASONS.tokenClaimsInvalid, message);
}

function safeString(payload: JWTPayload, claim: string, required: boolean): string | undefined {
  const value = payload[claim];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !HEADER_SAFE.test(value))
    throw claimsInvalid(`the "${claim}" claim is not valid`);
  return value;
}

function readClaims(payload: JWTPayload): AccessToken {
  const scopeClaim = payload.scope;
  if (scopeClaim !== undefined && typeof scopeClaim !== 'string')
    throw claimsInvalid('the "scope" claim is not valid');
  // RFC 9068 §2.2.3 / RFC 8693 §4.2: scope is a space-delimited string.
  const scopes = (scopeClaim ?? '').split(' ').filter((s) => s.length > 0);
  if (!scopes.every((s) => HEADER_SAFE.test(s))) throw claimsInvalid('the "scope" claim is not valid');
  const rolesClaim = payload.roles;
  if (
    rolesClaim !== undefined &&
    (!Array.isArray(rolesClaim) || !rolesClaim.every((r) => typeof r === 'string' && HEADER_SAFE.test(r)))
  ) {
    throw claimsInvalid('the "roles" claim is not valid');
  }
  const roles = (rolesClaim ?? []) as string[];
  const cnf = payload.cnf;
  let cnfX5tS256: string | undefined;
  let cnfJkt: string | undefined;
  if (cnf !== undefined) {
    if (typeof cnf !== 'object' || cnf === null) throw claimsInvalid('the "cnf" claim is not valid');
    const x5t = (cnf as Record<string, unknown>)['x5t#S256'];
    if (x5t !== undefined && typeof x5t !== 'string') throw claimsInvalid('the "cnf" claim is not valid');
    cnfX5tS256 = x5t;
    const jkt = (cnf as Record<string, unknown>).jkt;
    if (jkt !== undefined && typeof jkt !== 'string') throw claimsInvalid('the "cnf" claim is not valid');
    cnfJkt = jkt;
  }
  return {
    jti: safeString(payload, 'jti', true) as string,
    clientId: safeString(payload, 'client_id', true) as string,
    sub: safeString(payload, 'sub', true) as string,
    orgId: safeString(payload, 'org_id', false),
    scopes: new Set(scopes),
    scopeText: scopes.join(' '),
    roles,
    rolesText: roles.join(' '),
    cnfX5tS256,
    cnfX5tS256Bytes: cnfX5tS256 === undefined ? undefined : Buffer.from(cnfX5tS256),
    cnfJkt,
    expMs: (payload.exp as number) * 1000,
  };
}

/**
 * A verification thread's answers the owning thread settles itself: an unknown kid (its resolver refetches the
 * JWKS, with its cooldown, and retries) and a thread that could not answer.
 */
const IN_THREAD_RETRY = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_POOL_UNAVAILABLE', 'ERR_POOL_NOT_READY']);

const CLAIM_REASONS: Record<string, [GatewayReason, string]> = {
  typ: [GATEWAY_REASONS.tokenTypeInvalid, 'the token is not an access token (typ must be at+jwt)'],
  iss: [GATEWAY_REASONS.tokenIssuerInvalid, 'the token was not issued by the expected issuer'],
  aud: [GATEWAY_REASONS.tokenAudienceInvalid, 'the token is not intended for this API'],
  nbf: [GATEWAY_REASONS.tokenNotYetValid, 'the token is not yet valid'],
};

/** One place turns jose's failures into stable reasons; messages are ours, never the token's content. */
function mapJoseError(err: unknown): GatewayError {
  // Also called with a verification thread's error facts ({ code, claim, reason }), mapped the same way.
  if (err instanceof GatewayError) return err;
  if (err instanceof JwksUnavailableError) {
    return new GatewayError(GATEWAY_REASONS.jwksUnavailable, 503, 'the token signing keys are unavailable');
  }
  const { code, claim, reason } = err as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return invalidToken(GATEWAY_REASONS.tokenExpired, 'the token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      // A claim of the wrong type (e.g. an nbf that is not a NumericDate) is invalid, not "not yet valid".
      if (reason === 'invalid') {
        return invalidToken(GATEWAY_REASONS.tokenClaimsInvalid, `the "${String(claim)}" claim is not valid`);
      }
      const [gatewayReason, message] = CLAIM_REASONS[String(claim)] ?? [
        GATEWAY_REASONS.tokenClaimsInvalid,
        `the "${String(claim)}" claim is missing or not valid`,
      ];
      return invalidToken(gatewayReason, message);
    }
    // ERR_JOSE_NOT_SUPPORTED (an unrecognised crit extension, RFC 7515 §4.1.11) falls to "malformed": only
    // allow-listed algorithms ever reach jose's algorithm lookup.
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalidToken(
        GATEWAY_REASONS.tokenAlgorithmNotAllowed,
        'the token signing algorithm is not allowed',
      );
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalidToken(GATEWAY_REASONS.tokenKeyUnknown, 'the token was not signed by a known key');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalidToken(GATEWAY_REASONS.tokenSignatureInvalid, 'the token signature is not valid');
    default:
      return invalidToken(GATEWAY_REASONS.tokenMalformed, 'the token is malformed');
  }
}

/**
 * jose's options for an RFC 9068 access token, the same in this thread and in the verification threads
 * (verify-pool.ts); the algorithm allow-list is checked to be asymmetric before it gets here.
 */
export function accessTokenJoseOptions(
  options: Pick<TokenVerifierOptions, 'issuer' | 'audience' | 'algorithms' | 'clockToleranceSeconds'>,
): PoolVerifyOptions {
  return {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    // RFC 9068 §4: the resource server MUST check typ is at+jwt (application/at+jwt matches too).
    typ: 'at+jwt',
    clockTolerance: options.clockToleranceSeconds,
    // RFC 9068 §2.2: these are REQUIRED in a JWT access token.
    requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
  };
}

/**
 * Step 2b: RFC 9068 §4 validation with jose (signature against the AS JWKS, `typ` at+jwt, iss, aud, exp,
 * nbf, the algorithm allow-list) plus the claims the gateway forwards. Verified tokens are cached by their
 * exact string until `exp`: the signature never changes, while liveness and binding are checked per request.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  // RFC 8725 §3.1: never a MAC algorithm or none, whatever the caller passes; an HS256 allow-list would let
  // an "oct" member of the JWKS verify tokens anyone holding that secret could mint.
  for (const alg of options.algorithms) {
    if (!ASYMMETRIC.has(alg)) throw new TypeError(`${alg} is not an accepted asymmetric JWS algorithm`);
  }
  const cache = createTokenCache<AccessToken>(options.cacheSize);
  const { offload } = options;
  const verifyOptions = accessTokenJoseOptions(options);
  return {
    cached: (token, nowMs) => cache.get(token, nowMs),
    async verify(token, now) {
      const cached = cache.get(token, now.getTime());
      if (cached) return cached;
      assertB64Token(token);
      let payload: JWTPayload | undefined;
      const offloaded = offload?.verify(token, now.getTime());
      if (offloaded !== undefined) {
        const outcome = await offloaded;
        if ('payload' in outcome) {
          payload = outcome.payload;
        } else if (!IN_THREAD_RETRY.has(outcome.error.code)) {
          throw mapJoseError(outcome.error);
        }
      }
      if (payload === undefined) {
        try {
          ({ payload } = await jwtVerify(token, options.getKey, { ...verifyOptions, currentDate: now }));
        } catch (err) {
          throw mapJoseError(err);
        }
      }
      const verified = readClaims(payload);
      cache.set(token, verified, verified.expMs);
      return verified;
    },
  };
}
