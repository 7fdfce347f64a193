import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
  errors as joseErrors,
} from 'jose';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../shared/json-depth.ts';
import { FEDERATION_SIGNING_ALGORITHMS, JWT_TYPES } from './constants.ts';
import { isEntityIdentifier } from './trust-chain/entity-identifier.ts';
import { cachedKey, type VerificationMemo, verifyWithKey } from './trust-chain/signature-cache.ts';

/** Claims of an Entity Statement (OpenID Federation 1.0 §3): an Entity Configuration when iss === sub. */
export interface EntityStatementClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jwks?: JSONWebKeySet;
  authority_hints?: string[];
  metadata?: Record<string, Record<string, unknown>>;
  metadata_policy?: Record<string, Record<string, Record<string, unknown>>>;
  constraints?: {
    max_path_length?: number;
    naming_constraints?: { permitted?: string[]; excluded?: string[] };
    allowed_entity_types?: string[];
  };
  crit?: string[];
  metadata_policy_crit?: string[];
  trust_marks?: Array<{ trust_mark_type: string; trust_mark: string }>;
  trust_mark_issuers?: Record<string, string[]>;
  trust_mark_owners?: Record<string, { sub: string; jwks: JSONWebKeySet }>;
  trust_anchor_hints?: string[];
  source_endpoint?: string;
  [claim: string]: unknown;
}

/** Why a federation JWT was refused; stable codes, no token material in messages. */
export const STATEMENT_ERROR_CODES = [
  'malformed',
  'unsupported_typ',
  'unsupported_alg',
  'missing_kid',
  'unknown_kid',
  'bad_signature',
  'missing_claim',
  'invalid_claim',
  'expired',
  'issued_in_future',
  'unsupported_crit',
] as const;

export type StatementErrorCode = (typeof STATEMENT_ERROR_CODES)[number];

export class StatementError extends Error {
  readonly code: StatementErrorCode;
  constructor(code: StatementErrorCode, message: string) {
    super(message);
    this.name = 'StatementError';
    this.code = code;
  }
}

/**
 * Extension claims this implementation understands; a `crit` naming anything else is refused (§3.1.1, §3.2
 * step 13). None so far: every claim the platform processes is defined by the specification.
 */
const UNDERSTOOD_CLAIMS = new Set<string>();

/** Claims defined by the specification for Entity Statements: they MUST NOT appear in `crit` (§3.1.1). */
const STANDARD_CLAIMS = new Set<string>([
  'iss',
  'sub',
  'iat',
  'exp',
  'jwks',
  'aud',
  'authority_hints',
  'trust_anchor_hints',
  'metadata',
  'metadata_policy',
  'constraints',
  'crit',
  'metadata_policy_crit',
  'trust_marks',
  'trust_mark_issuers',
  'trust_mark_owners',
  'source_endpoint',
  'trust_anchor',
]);

export interface DecodedJwt<T> {
  header: { alg: string; kid: string; typ: string };
  payload: T;
}

/**
 * Reads a federation JWT without verifying it: the resolver needs `iss`, `sub` and `authority_hints` of an
 * Entity Configuration before it has the keys that verify it. Never trust the result before `verify…`.
 */
export function decodeFederationJwt<T = Record<string, unknown>>(jwt: string, typ: string): DecodedJwt<T> {
  if (typeof jwt !== 'string' || jwt.split('.').length !== 3) {
    throw new StatementError('malformed', 'not a compact JWS');
  }
  // Statements come from anyone who posts or serves one; their claims are walked and stored, so nesting is bounded.
  if (exceedsJsonDepth(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'), MAX_JSON_DEPTH)) {
    throw new StatementError('malformed', `the payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt);
    payload = decodeJwt(jwt) as Record<string, unknown>;
  } catch {
    throw new StatementError('malformed', 'not a decodable JWT');
  }
  // §3.1 and the media type registrations: the typ header names the artefact; anything else is refused.
  if (header.typ !== typ) throw new StatementError('unsupported_typ', `typ must be ${typ}`);
  const alg = header.alg;
  if (typeof alg !== 'string' || !(FEDERATION_SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new StatementError('unsupported_alg', `alg ${String(alg)} is not accepted`);
  }
  // §3.1: federation JWTs MUST carry kid so the verifier can pick the key.
  if (typeof header.kid !== 'string' || header.kid.length === 0) {
    throw new StatementError('missing_kid', 'kid header is required');
  }
  return { header: { alg, kid: header.kid, typ }, payload: payload as T };
}

export interface VerifyOptions {
  typ: string;
  now: Date;
  /** Tolerated clock skew for iat/exp, in seconds. */
  clockSkewSeconds?: number;
  /**
   * Signatures already verified, by (JWT, key): a pair found there is not computed again (the trust chain resolver
   * keeps one per resolver). Key selection, alg, kid, typ, times and claims are checked on every call regardless.
   */
  signatureMemo?: VerificationMemo;
}

/** Verifies the signature against `jwks` (the key with the header's kid) and the time claims. */
export async function verifyFederationJwt<T extends { iat?: unknown; exp?: unknown }>(
  jwt: string,
  jwks: JSONWebKeySet,
  options: VerifyOptions,
): Promise<DecodedJwt<T>> {
  const decoded = decodeFederationJwt<T>(jwt, options.typ);
  const candidates =
    jwks && Array.isArray(jwks.keys) ? jwks.keys.filter((k: JWK) => k.kid === decoded.header.kid) : [];
  if (candidates.length === 0) {
    throw new StatementError('unknown_kid', 'no key with the kid of the signature');
  }
  try {
    if (candidates.length === 1) {
      // The usual case: one key with the header's kid, imported once and kept (cachedKey).
      await verifyWithKey(jwt, cachedKey(candidates[0]!), options.signatureMemo);
    } else {
      await compactVerify(jwt, createLocalJWKSet(jwks), { algorithms: [...FEDERATION_SIGNING_ALGORITHMS] });
    }
  } catch (err) {
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JWKSNoMatchingKey) {
      throw new StatementError('unknown_kid', 'no usable key with the kid of the signature');
    }
    throw new StatementError('bad_signature', 'signature verification failed');
  }
  checkTimes(decoded.payload as { iat?: unknown; exp?: unknown }, options);
  return decoded;
}

function checkTimes(payload: { iat?: unknown; exp?: unknown }, options: VerifyOptions): void {
  const skew = options.clockSkewSeconds ?? 30;
  const now = Math.floor(options.now.getTime() / 1000);
  if (typeof payload.exp !== 'number') throw new StatementError('missing_claim', 'exp is required');
  if (typeof payload.iat !== 'number') throw new StatementError('missing_claim', 'iat is required');
  if (payload.exp <= now - skew) throw new StatementError('expired', 'statement has expired');
  if (payload.iat > now + skew) throw new StatementError('issued_in_future', 'iat is in the future');
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isNonEmptyString);

function isJwkSet(v: unknown): boolean {
  return isPlainObject(v) && Array.isArray(v.keys);
}

const invalid = (message: string) => new StatementError('invalid_claim', message);

function checkOnlyIn(
  payload: Record<string, unknown>,
  isConfiguration: boolean,
  claims: string[],
  where: 'ec' | 'ss',
) {
  for (const claim of claims) {
    if (!(claim in payload)) continue;
    if (where === 'ec' && !isConfiguration) throw invalid(`${claim} only in an Entity Configuration`);
    if (where === 'ss' && isConfiguration) throw invalid(`${claim} not allowed in an Entity Configuration`);
  }
}

function checkJwks(jwks: unknown): void {
  // §3.1.1: jwks is REQUIRED in Entity Configurations and in Subordinate Statements (§3.2 step 9).
  if (!isPlainObject(jwks) || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new StatementError('missing_claim', 'jwks with at least one key is required');
  }
  const kids = new Set<string>();
  for (const key of jwks.keys as unknown[]) {
    if (!isPlainObject(key) || !isNonEmptyString(key.kid) || !isNonEmptyString(key.kty)) {
      throw invalid('every key in jwks needs kty and kid');
    }
    // §3.1.1: every JWK in the set MUST have a unique kid.
    if (kids.has(key.kid)) throw invalid('kid values in jwks must be unique');
    kids.add(key.kid);
    // Only public keys are ever published (§3.1.1: jwks holds the public part).
    if ('d' in key || 'k' in key || 'p' in key) throw invalid('jwks holds private key material');
    // Verification cost is the verifier's: RSA keys of sane size with the usual exponent only (a huge modulus
    // or exponent turns one statement into a denial of service).
    if (key.kty === 'RSA') {
      const bits = typeof key.n === 'string' ? Buffer.from(key.n, 'base64url').length * 8 : 0;
      if (key.e !== 'AQAB' || bits < 2048 || bits > 4096) {
        throw invalid('RSA keys in jwks must have 2048 to 4096 bits and exponent 65537');
      }
    }
  }
}

function checkMetadata(metadata: unknown): void {
  // §3.2 step 16, §5: one JSON object per Entity Type, and null is never a metadata value.
  if (!isPlainObject(metadata)) throw invalid('metadata must be a JSON object');
  for (const [entityType, parameters] of Object.entries(metadata)) {
    if (!isPlainObject(parameters)) throw invalid(`metadata for ${entityType} must be a JSON object`);
    for (const [name, value] of Object.entries(parameters)) {
      if (value === null) throw invalid(`metadata parameter ${entityType}.${name} must not be null`);
    }
  }
}

function checkConstraints(constraints: unknown): void {
  // §3.2 step 19, §6.2.
  if (!isPlainObject(constraints)) throw invalid('constraints must be a JSON object');
  const { max_path_length: maxPath, naming_constraints: naming, allowed_entity_types: types } = constraints;
  if (maxPath !== undefined && !(Number.isInteger(maxPath) && (maxPath as number) >= 0)) {
    throw invalid('max_path_length must be an integer >= 0 (§6.2.1)');
  }
  if (naming !== undefined) {
    if (!isPlainObject(naming)) throw invalid('naming_constraints must be a JSON object (§6.2.2)');
    for (const list of ['permitted', 'excluded'] as const) {
      if (naming[list] !== undefined && !isStringArray(naming[list])) {
        throw invalid(`naming_constraints.${list} must be an array of names (§6.2.2)`);
      }
    }
  }
  if (types !== undefined) {
    if (!isStringArray(types))
      throw invalid('allowed_entity_types must be an array of Entity Types (§6.2.3)');
    // §6.2.3: federation_entity is always allowed and MUST NOT be listed.
    if (types.includes('federation_entity'))
      throw invalid('allowed_entity_types must not list federation_entity');
  }
}

function checkTrustMarks(marks: unknown): void {
  if (
    !Array.isArray(marks) ||
    !marks.every(
      (m) => isPlainObject(m) && isNonEmptyString(m.trust_mark_type) && isNonEmptyString(m.trust_mark),
    )
  ) {
    throw invalid('trust_marks must be an array of {trust_mark_type, trust_mark}');
  }
  // §3.2 step 20: each trust_mark_type equals the trust_mark_type inside its Trust Mark JWT. Trust in the mark
  // itself is evaluated separately (§7.3).
  for (const mark of marks as Array<{ trust_mark_type: string; trust_mark: string }>) {
    let inner: unknown;
    try {
      inner = decodeJwt(mark.trust_mark).trust_mark_type;
    } catch {
      throw invalid('a trust_marks entry does not hold a decodable JWT');
    }
    if (inner !== mark.trust_mark_type)
      throw invalid('trust_mark_type differs from the one in its Trust Mark');
  }
}

function checkTrustMarkIssuers(issuers: unknown): void {
  // §3.2 step 21.
  if (
    !isPlainObject(issuers) ||
    !Object.values(issuers).every((v) => Array.isArray(v) && v.every(isEntityIdentifier))
  ) {
    throw invalid('trust_mark_issuers must map Trust Mark types to arrays of Entity Identifiers');
  }
}

function checkTrustMarkOwners(owners: unknown): void {
  // §3.2 step 22.
  if (
    !isPlainObject(owners) ||
    !Object.values(owners).every((o) => isPlainObject(o) && isEntityIdentifier(o.sub) && isJwkSet(o.jwks))
  ) {
    throw invalid('trust_mark_owners must map Trust Mark types to {sub, jwks}');
  }
}

function checkCrit(payload: Record<string, unknown>): void {
  const crit = payload.crit;
  // §3.1.1, §3.2 step 13: crit lists extension claims only, each of which MUST be understood.
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every(isNonEmptyString)) {
    throw invalid('crit must be a non-empty array of claim names');
  }
  for (const name of crit as string[]) {
    if (STANDARD_CLAIMS.has(name)) throw invalid(`crit must not list ${name}`);
    if (!UNDERSTOOD_CLAIMS.has(name)) {
      throw new StatementError('unsupported_crit', `critical claim ${name} is not understood`);
    }
    if (!(name in payload)) throw invalid(`critical claim ${name} is absent`);
  }
}

/** Structural checks of §3.2 on Entity Statement claims; signature and times are checked by `verify…`. */
export function validateEntityStatementClaims(payload: Record<string, unknown>): EntityStatementClaims {
  for (const claim of ['iss', 'sub'] as const) {
    if (!isNonEmptyString(payload[claim])) throw new StatementError('missing_claim', `${claim} is required`);
    // §3.2 step 5: iss is a valid Entity Identifier (§1.2); so is the subject.
    if (!isEntityIdentifier(payload[claim]))
      throw invalid(`${claim} must be an Entity Identifier (https URL)`);
  }
  const isConfiguration = payload.iss === payload.sub;
  checkJwks(payload.jwks);
  checkOnlyIn(
    payload,
    isConfiguration,
    ['authority_hints', 'trust_anchor_hints', 'trust_marks', 'trust_mark_issuers', 'trust_mark_owners'],
    'ec',
  );
  checkOnlyIn(
    payload,
    isConfiguration,
    ['metadata_policy', 'metadata_policy_crit', 'constraints', 'source_endpoint'],
    'ss',
  );
  for (const claim of ['authority_hints', 'trust_anchor_hints'] as const) {
    // §3.1.2, §3.2 steps 14-15: a non-empty array of Entity Identifiers.
    const hints = payload[claim];
    if (
      hints !== undefined &&
      (!Array.isArray(hints) || hints.length === 0 || !hints.every(isEntityIdentifier))
    ) {
      throw invalid(`${claim} must be a non-empty array of entity identifiers`);
    }
  }
  if ('metadata' in payload) checkMetadata(payload.metadata);
  // §3.2 step 17: the policy's inner structure is validated when the chain's policies are combined (§6.1.4.1).
  if ('metadata_policy' in payload && !isPlainObject(payload.metadata_policy)) {
    throw invalid('metadata_policy must be a JSON object');
  }
  if ('constraints' in payload) checkConstraints(payload.constraints);
  if ('trust_marks' in payload) checkTrustMarks(payload.trust_marks);
  if ('trust_mark_issuers' in payload) checkTrustMarkIssuers(payload.trust_mark_issuers);
  if ('trust_mark_owners' in payload) checkTrustMarkOwners(payload.trust_mark_owners);
  if ('source_endpoint' in payload) {
    // §3.2 step 23: a URL.
    const endpoint = payload.source_endpoint;
    if (!isNonEmptyString(endpoint) || !URL.canParse(endpoint))
      throw invalid('source_endpoint must be a URL');
  }
  if ('crit' in payload) checkCrit(payload);
  if ('metadata_policy_crit' in payload) {
    const mpc = payload.metadata_policy_crit;
    // §3.1.3: a non-empty array of operator names; whether they are understood is decided with the policy.
    if (!Array.isArray(mpc) || mpc.length === 0 || !mpc.every(isNonEmptyString)) {
      throw invalid('metadata_policy_crit must be a non-empty array of operator names');
    }
  }
  return payload as EntityStatementClaims;
}

/** Verifies an Entity Statement (typ entity-statement+jwt) and its claim structure. */
export async function verifyEntityStatement(
  jwt: string,
  jwks: JSONWebKeySet,
  options: Omit<VerifyOptions, 'typ'>,
): Promise<DecodedJwt<EntityStatementClaims>> {
  const decoded = await verifyFederationJwt<Record<string, unknown>>(jwt, jwks, {
    ...options,
    typ: JWT_TYPES.entityStatement,
  });
  return { header: decoded.header, payload: validateEntityStatementClaims(decoded.payload) };
}
