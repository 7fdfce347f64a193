import { decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';
import { invalidStatement } from './registration-error.ts';
import { loadStatementKeys, STATEMENT_ALGORITHMS } from './statement-verification-keys.ts';

/** The claims of a Software Statement Assertion the directory issued, as this server relies on them. */
export interface SoftwareStatement {
  /** The statement exactly as presented: echoed unmodified in every client information response (RFC 7591 §3.2.1). */
  jwt: string;
  jti: string;
  iat: number;
  exp: number;
  /** client_id of the directory application that is the software. */
  softwareId: string;
  orgId: string;
  roles: string[];
  /** Space-separated scope; undefined: whatever the roles grant. */
  scope: string | undefined;
  clientName: string;
  tokenEndpointAuthMethod: string;
  grantTypes: string[];
  redirectUris: string[] | undefined;
  jwks: unknown;
  jwksUri: string | undefined;
  tlsClientAuthSubjectDn: string | undefined;
  /** The FAPI 2.0 profile the operator set on the software, inherited by its clients (fapi/). */
  fapiProfile?: '2.0' | 'off' | undefined;
}

export interface StatementVerification {
  db: Kysely<Database>;
  /** `<publicUrl>/directory`: the directory is the only party whose statements this server accepts. */
  issuer: string;
  now: Date;
  maxAgeSeconds: number;
  skewSeconds: number;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** RFC 7515 §7.1: three base64url parts; the header names the key and the algorithm this server allows. */
function checkHeader(jwt: string): { alg: string; kid: string } {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)) {
    throw invalidStatement('software_statement is not a compact JWS (RFC 7591 §2.3)');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw invalidStatement('software_statement has a malformed JWS header');
  }
  // RFC 7591 §2.3: the statement MUST be signed; no `none`, and only the directory's algorithms.
  if (!isString(header.alg) || !(STATEMENT_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw invalidStatement(`software_statement must be signed with ${STATEMENT_ALGORITHMS.join(' or ')}`);
  }
  if (header.typ !== 'JWT') throw invalidStatement('software_statement must have typ JWT');
  if (!isString(header.kid)) throw invalidStatement('software_statement header names no kid');
  return { alg: header.alg, kid: header.kid };
}

async function verifySignature(jwt: string, options: StatementVerification): Promise<JWTPayload> {
  const { alg, kid } = checkHeader(jwt);
  const keys = await loadStatementKeys(options.db, options.now, options.maxAgeSeconds + options.skewSeconds);
  const key = keys.get(kid);
  if (!key) throw invalidStatement('software_statement is signed by a key the directory does not publish');
  if (key.alg !== alg)
    throw invalidStatement(`software_statement key ${kid} signs with ${key.alg}, not ${alg}`);
  try {
    const { payload } = await jwtVerify(jwt, key.key, {
      algorithms: [key.alg],
      typ: 'JWT',
      issuer: options.issuer,
      currentDate: options.now,
      clockTolerance: options.skewSeconds,
      requiredClaims: ['iss', 'iat', 'exp', 'jti'],
    });
    return payload;
  } catch (err) {
    throw invalidStatement(describeJoseError(err, options.issuer));
  }
}

function describeJoseError(err: unknown, issuer: string): string {
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'software_statement signature does not verify';
  if (err instanceof joseErrors.JWTExpired) return 'software_statement has expired (exp)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `software_statement iss must be ${issuer}`;
    return `software_statement claim ${err.claim} is missing or invalid`;
  }
  if (err instanceof joseErrors.JWTInvalid) return 'software_statement payload is not a JWT claims set';
  return 'software_statement could not be verified';
}

/** `iat` within the configured window and not in the future: a statement is used soon after it is issued. */
function checkIssuedAt(payload: JWTPayload, options: StatementVerification): number {
  const now = Math.floor(options.now.getTime() / 1000);
  const iat = payload.iat as number;
  if (iat > now + options.skewSeconds) throw invalidStatement('software_statement iat is in the future');
  if (now - iat > options.maxAgeSeconds + options.skewSeconds) {
    throw invalidStatement(`software_statement is older than ${options.maxAgeSeconds} seconds (iat)`);
  }
  return iat;
}

/** The claims the directory always sets, each of the right type: anything else is not one of its statements. */
function readClaims(jwt: string, payload: JWTPayload, iat: number): SoftwareStatement {
  const p = payload as Record<string, unknown>;
  const problems: string[] = [];
  const need = (name: string, ok: boolean) => {
    if (!ok) problems.push(name);
  };
  need('jti', isString(p.jti));
  need('software_id', isString(p.software_id));
  need('org_id', isString(p.org_id));
  need('roles', isStringArray(p.roles));
  need('client_name', isString(p.client_name));
  need('token_endpoint_auth_method', isString(p.token_endpoint_auth_method));
  need('grant_types', isStringArray(p.grant_types));
  need('scope', p.scope === undefined || typeof p.scope === 'string');
  need('redirect_uris', p.redirect_uris === undefined || isStringArray(p.redirect_uris));
  need('jwks', p.jwks === undefined || (typeof p.jwks === 'object' && p.jwks !== null));
  need('jwks_uri', p.jwks_uri === undefined || isString(p.jwks_uri));
  need(
    'tls_client_auth_subject_dn',
    p.tls_client_auth_subject_dn === undefined || isString(p.tls_client_auth_subject_dn),
  );
  need('fapi_profile', p.fapi_profile === undefined || p.fapi_profile === '2.0' || p.fapi_profile === 'off');
  if (problems.length > 0) {
    throw invalidStatement(`software_statement claims missing or malformed: ${problems.join(', ')}`);
  }
  return {
    jwt,
    jti: p.jti as string,
    iat,
    exp: p.exp as number,
    softwareId: p.software_id as string,
    orgId: p.org_id as string,
    roles: [...new Set(p.roles as string[])],
    scope: p.scope as string | undefined,
    clientName: p.client_name as string,
    tokenEndpointAuthMethod: p.token_endpoint_auth_method as string,
    grantTypes: p.grant_types as string[],
    redirectUris: p.redirect_uris as string[] | undefined,
    jwks: p.jwks,
    jwksUri: p.jwks_uri as string | undefined,
    tlsClientAuthSubjectDn: p.tls_client_auth_subject_dn as string | undefined,
    fapiProfile: p.fapi_profile as '2.0' | 'off' | undefined,
  };
}

/**
 * RFC 7591 §2.3, §3.1.1: a software statement is accepted only when the directory signed it (a key it
 * publishes, an algorithm it uses), it names the directory as `iss`, it is fresh (`iat` within the window, not
 * in the future, `exp` not passed) and carries every claim the directory sets. Whether its `jti` is still
 * unused is for the registration transaction to settle.
 */
export async function verifySoftwareStatement(
  jwt: unknown,
  options: StatementVerification,
): Promise<SoftwareStatement> {
  if (jwt === undefined) throw invalidStatement('a software_statement issued by the directory is required');
  if (typeof jwt !== 'string') throw invalidStatement('software_statement must be a string (a JWT)');
  const payload = await verifySignature(jwt, options);
  const iat = checkIssuedAt(payload, options);
  return readClaims(jwt, payload, iat);
}

/** The claims of a statement verified at registration, read again for an update (RFC 7592 §2.2). */
export function decodeStoredStatement(jwt: string): SoftwareStatement {
  const [, body] = jwt.split('.');
  const payload = JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8')) as JWTPayload;
  return readClaims(jwt, payload, payload.iat as number);
}
