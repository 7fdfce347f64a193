import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
  errors as joseErrors,
} from 'jose';
import { FEDERATION_SIGNING_ALGORITHMS, JWT_TYPES } from './constants.ts';

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

/** Claims whose meaning this implementation knows; a `crit` naming anything else is refused (§3.1). */
const UNDERSTOOD_CLAIMS = new Set<string>(['source_endpoint', 'trust_mark_owners', 'trust_mark_issuers']);

/** Standard claims that MUST NOT appear in `crit` (§3.1: crit lists extension claims only). */
const STANDARD_CLAIMS = new Set<string>([
  'iss',
  'sub',
  'iat',
  'exp',
  'jwks',
  'aud',
  'authority_hints',
  'metadata',
  'metadata_policy',
  'constraints',
  'crit',
  'metadata_policy_crit',
  'trust_marks',
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
}

/** Verifies the signature against `jwks` (the key with the header's kid) and the time claims. */
export async function verifyFederationJwt<T extends { iat?: unknown; exp?: unknown }>(
  jwt: string,
  jwks: JSONWebKeySet,
  options: VerifyOptions,
): Promise<DecodedJwt<T>> {
  const decoded = decodeFederationJwt<T>(jwt, options.typ);
  if (!jwks || !Array.isArray(jwks.keys) || !jwks.keys.some((k: JWK) => k.kid === decoded.header.kid)) {
    throw new StatementError('unknown_kid', 'no key with the kid of the signature');
  }
  try {
    await compactVerify(jwt, createLocalJWKSet(jwks), { algorithms: [...FEDERATION_SIGNING_ALGORITHMS] });
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

/** Structural checks of §3 on Entity Statement claims; signature and times are checked by `verify…`. */
export function validateEntityStatementClaims(payload: Record<string, unknown>): EntityStatementClaims {
  for (const claim of ['iss', 'sub'] as const) {
    if (!isNonEmptyString(payload[claim])) throw new StatementError('missing_claim', `${claim} is required`);
  }
  const isConfiguration = payload.iss === payload.sub;
  // §3.1: jwks is REQUIRED in Entity Configurations and in Subordinate Statements.
  const jwks = payload.jwks;
  if (!isPlainObject(jwks) || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new StatementError('missing_claim', 'jwks with at least one key is required');
  }
  for (const key of jwks.keys as unknown[]) {
    if (!isPlainObject(key) || !isNonEmptyString(key.kid)) {
      throw new StatementError('invalid_claim', 'every key in jwks needs a kid');
    }
    // Only public keys are ever published (§3.1: jwks holds the public part).
    if ('d' in key || 'k' in key || 'p' in key)
      throw new StatementError('invalid_claim', 'jwks holds private key material');
  }
  if ('authority_hints' in payload) {
    const hints = payload.authority_hints;
    // §3.1.1: only in Entity Configurations; if present it MUST NOT be empty.
    if (!isConfiguration)
      throw new StatementError('invalid_claim', 'authority_hints only in an Entity Configuration');
    if (!Array.isArray(hints) || hints.length === 0 || !hints.every(isNonEmptyString)) {
      throw new StatementError(
        'invalid_claim',
        'authority_hints must be a non-empty array of entity identifiers',
      );
    }
  }
  if ('metadata' in payload && !isPlainObject(payload.metadata)) {
    throw new StatementError('invalid_claim', 'metadata must be a JSON object');
  }
  if ('metadata_policy' in payload) {
    // §3.1.2: metadata_policy appears only in Subordinate Statements.
    if (isConfiguration)
      throw new StatementError('invalid_claim', 'metadata_policy not allowed in an Entity Configuration');
    if (!isPlainObject(payload.metadata_policy))
      throw new StatementError('invalid_claim', 'metadata_policy must be a JSON object');
  }
  if ('constraints' in payload && !isPlainObject(payload.constraints)) {
    throw new StatementError('invalid_claim', 'constraints must be a JSON object');
  }
  if ('trust_marks' in payload) {
    const marks = payload.trust_marks;
    if (
      !Array.isArray(marks) ||
      !marks.every(
        (m) => isPlainObject(m) && isNonEmptyString(m.trust_mark_type) && isNonEmptyString(m.trust_mark),
      )
    ) {
      throw new StatementError(
        'invalid_claim',
        'trust_marks must be an array of {trust_mark_type, trust_mark}',
      );
    }
  }
  if ('crit' in payload) {
    const crit = payload.crit;
    // §3.1: crit MUST NOT be empty and MUST NOT list standard claims; unknown critical claims are refused.
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every(isNonEmptyString)) {
      throw new StatementError('invalid_claim', 'crit must be a non-empty array of claim names');
    }
    for (const name of crit as string[]) {
      if (STANDARD_CLAIMS.has(name)) throw new StatementError('invalid_claim', `crit must not list ${name}`);
      if (!UNDERSTOOD_CLAIMS.has(name))
        throw new StatementError('unsupported_crit', `critical claim ${name} is not understood`);
      if (!(name in payload)) throw new StatementError('invalid_claim', `critical claim ${name} is absent`);
    }
  }
  if ('metadata_policy_crit' in payload) {
    const mpc = payload.metadata_policy_crit;
    if (!Array.isArray(mpc) || mpc.length === 0 || !mpc.every(isNonEmptyString)) {
      throw new StatementError(
        'invalid_claim',
        'metadata_policy_crit must be a non-empty array of operator names',
      );
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
