import { type Algorithm, createVerifier, TokenError } from 'fast-jwt';
import { decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { GATEWAY_REASONS, GatewayError, type GatewayReason, invalidToken } from './gateway-error.ts';
import { JwksUnavailableError, type VerificationKey } from './jwks.ts';
import { assertB64Token } from './read-access-token.ts';
import { createTokenCache } from './token-cache.ts';

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

/** Where the verifier finds the authorization server's keys (the JWKS resolver). */
export interface TokenKeySource {
  keys(): readonly VerificationKey[] | Promise<readonly VerificationKey[]>;
  refetchForUnknownKey(): Promise<readonly VerificationKey[] | undefined>;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  keys: TokenKeySource;
  algorithms: string[];
  clockToleranceSeconds: number;
  /** Verified tokens kept until their exp; the oldest is evicted beyond this many. */
  cacheSize: number;
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

const CLAIM_REASONS: Record<string, [GatewayReason, string]> = {
  iss: [GATEWAY_REASONS.tokenIssuerInvalid, 'the token was not issued by the expected issuer'],
  aud: [GATEWAY_REASONS.tokenAudienceInvalid, 'the token is not intended for this API'],
};

function claimReason(claim: string): GatewayError {
  const [reason, message] = CLAIM_REASONS[claim] ?? [
    GATEWAY_REASONS.tokenClaimsInvalid,
    `the "${claim}" claim is missing or not valid`,
  ];
  return invalidToken(reason, message);
}

const ALGORITHM_NOT_ALLOWED = () =>
  invalidToken(GATEWAY_REASONS.tokenAlgorithmNotAllowed, 'the token signing algorithm is not allowed');
const KEY_UNKNOWN = () =>
  invalidToken(GATEWAY_REASONS.tokenKeyUnknown, 'the token was not signed by a known key');
const MALFORMED = () => invalidToken(GATEWAY_REASONS.tokenMalformed, 'the token is malformed');

// fast-jwt names the claim in its messages only ("The iss claim value is not allowed.").
const CLAIM_IN_MESSAGE = /\b(?:The|of) ([a-z_]+) claim\b/;

/** One place turns fast-jwt's failures into stable reasons; messages are ours, never the token's content. */
function mapVerifyError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof TokenError)) return MALFORMED();
  switch (err.code) {
    case TokenError.codes.invalidAlgorithm:
      return ALGORITHM_NOT_ALLOWED();
    case TokenError.codes.invalidSignature:
    case TokenError.codes.missingSignature:
    case TokenError.codes.verifyError:
      return invalidToken(GATEWAY_REASONS.tokenSignatureInvalid, 'the token signature is not valid');
    case TokenError.codes.invalidType:
      return invalidToken(
        GATEWAY_REASONS.tokenTypeInvalid,
        'the token is not an access token (typ must be at+jwt)',
      );
    case TokenError.codes.invalidCritHeader:
      // RFC 7515 §4.1.11: an extension the gateway does not understand makes the token unusable.
      return MALFORMED();
    case TokenError.codes.missingRequiredClaim:
    case TokenError.codes.invalidClaimType:
    case TokenError.codes.invalidClaimValue:
      return claimReason(CLAIM_IN_MESSAGE.exec(err.message)?.[1] ?? 'unknown');
    default:
      return MALFORMED();
  }
}

/** JWA (RFC 7518 §3.1, RFC 8037): the key type and curve each asymmetric algorithm is used with. */
function keyFits(key: VerificationKey, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  switch (alg) {
    case 'ES256':
      return key.kty === 'EC' && key.crv === 'P-256';
    case 'ES384':
      return key.kty === 'EC' && key.crv === 'P-384';
    case 'ES512':
      return key.kty === 'EC' && key.crv === 'P-521';
    case 'EdDSA':
      return key.kty === 'OKP' && (key.crv === 'Ed25519' || key.crv === 'Ed448');
    case 'Ed25519':
      return key.kty === 'OKP' && key.crv === 'Ed25519';
    default:
      return key.kty === 'RSA' && /^(?:RS|PS)(?:256|384|512)$/.test(alg);
  }
}

/** RFC 7515 §4.1.4: the key the header names (kid), of the type its alg needs; exactly one, or none. */
function pick(
  keys: readonly VerificationKey[],
  header: ProtectedHeaderParameters,
): VerificationKey | 'none' | 'many' {
  let found: VerificationKey | undefined;
  for (const key of keys) {
    if (header.kid !== undefined && key.kid !== header.kid) continue;
    if (!keyFits(key, header.alg as string)) continue;
    if (found) return 'many';
    found = key;
  }
  return found ?? 'none';
}

type Verify = (token: string) => JWTPayload;

/**
 * Step 2b: RFC 9068 §4 validation with jose (signature against the AS JWKS, `typ` at+jwt, iss, aud, exp,
 * nbf, the algorithm allow-list) plus the claims the gateway forwards. Verified tokens are cached by their
 * exact string until `exp`: the signature never changes, while liveness and binding are checked per request.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const cache = createTokenCache<AccessToken>(options.cacheSize);
  const allowed = new Set(options.algorithms);
  const toleranceS = options.clockToleranceSeconds;

  /**
   * fast-jwt's synchronous verifier for one key and algorithm, kept on the key (one node:crypto KeyObject):
   * signature, the alg allow-list, `crit` (none understood: any is refused), `typ` at+jwt (RFC 9068 §4;
   * application/at+jwt matches too), iss, aud and the claims RFC 9068 §2.2 requires. Time claims are judged
   * below against the gateway's clock, which fast-jwt would fix at construction.
   */
  function verifierFor(key: VerificationKey, alg: string): Verify {
    const memoKey = `verify:${alg}`;
    let verify = key.memo.get(memoKey) as Verify | undefined;
    if (!verify) {
      verify = createVerifier({
        key: key.spkiPem,
        algorithms: [alg as Algorithm],
        checkTyp: 'at+jwt',
        allowedIss: options.issuer,
        allowedAud: options.audience,
        requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
        allowedCritHeaders: [],
        ignoreExpiration: true,
        ignoreNotBefore: true,
        cache: false,
      }) as Verify;
      key.memo.set(memoKey, verify);
    }
    return verify;
  }

  /** RFC 7519 §4.1.4/§4.1.5, with the configured leeway; iat must be a NumericDate (RFC 9068 §2.2). */
  function checkTimes(payload: JWTPayload, nowS: number): void {
    const { exp, nbf, iat } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw claimReason('exp');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw claimReason('iat');
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw claimReason('nbf');
    if (exp <= nowS - toleranceS) throw invalidToken(GATEWAY_REASONS.tokenExpired, 'the token has expired');
    if (nbf !== undefined && nbf > nowS + toleranceS)
      throw invalidToken(GATEWAY_REASONS.tokenNotYetValid, 'the token is not yet valid');
  }

  async function keyFor(header: ProtectedHeaderParameters): Promise<VerificationKey> {
    let keys: readonly VerificationKey[];
    try {
      keys = await options.keys.keys();
    } catch (err) {
      if (err instanceof JwksUnavailableError)
        throw new GatewayError(
          GATEWAY_REASONS.jwksUnavailable,
          503,
          'the token signing keys are unavailable',
        );
      throw err;
    }
    let key = pick(keys, header);
    if (key === 'none') {
      // Key rotation: a kid the set does not know yet may be in a newer one.
      const fresh = await options.keys.refetchForUnknownKey();
      if (fresh) key = pick(fresh, header);
    }
    if (typeof key === 'string') throw KEY_UNKNOWN();
    return key;
  }

  return {
    cached: (token, nowMs) => cache.get(token, nowMs),
    async verify(token, now) {
      const nowMs = now.getTime();
      const cached = cache.get(token, nowMs);
      if (cached) return cached;
      assertB64Token(token);
      let header: ProtectedHeaderParameters;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw MALFORMED();
      }
      // RFC 8725 §3.1: the allow-list is judged before any key is looked up (none, HS* never pass it).
      if (typeof header.alg !== 'string' || !allowed.has(header.alg)) throw ALGORITHM_NOT_ALLOWED();
      if (header.kid !== undefined && typeof header.kid !== 'string') throw MALFORMED();
      const key = await keyFor(header);
      let payload: JWTPayload;
      try {
        payload = verifierFor(key, header.alg)(token);
      } catch (err) {
        throw mapVerifyError(err);
      }
      checkTimes(payload, nowMs / 1000);
      const verified = readClaims(payload);
      cache.set(token, verified, verified.expMs);
      return verified;
    },
  };
}
