import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.ts';
import { oauthError } from './oauth-error.ts';

export interface ExpectedProof {
  /** The client_id of the request: the RP's Entity Identifier. */
  clientId: string;
  /** The OP's Entity Identifier (= its issuer identifier), the only audience accepted. */
  audience: string;
  /** Signature algorithms accepted (never `none`, never a MAC). */
  algorithms: readonly string[];
  now: Date;
  /** Leeway for exp, nbf and iat, in seconds. */
  skewSeconds: number;
}

export interface DecodedProof {
  jwt: string;
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

/** Longest a Request Object may be valid: bounds how long its jti has to be remembered. */
export const MAX_REQUEST_OBJECT_LIFETIME_SECONDS = 3600;

type Fail = (description: string) => Error;

function decode(jwt: unknown, what: string, fail: Fail): DecodedProof {
  if (typeof jwt !== 'string' || jwt.length === 0) throw fail(`the ${what} must be a single JWT`);
  const parts = jwt.split('.');
  // JWE (five parts) is not offered: request objects are signed, not encrypted, here.
  if (parts.length !== 3) throw fail(`the ${what} must be a signed JWT (JWS compact serialisation)`);
  // Claims are walked and stored after this; a deep value would overflow the stack of whatever does it.
  if (exceedsJsonDepth(Buffer.from(parts[1]!, 'base64url').toString('utf8'), MAX_JSON_DEPTH)) {
    throw fail(`the ${what}'s claims nest deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return { jwt, header: decodeProtectedHeader(jwt), payload: decodeJwt(jwt) };
  } catch {
    throw fail(`the ${what} is not a well-formed JWT`);
  }
}

const onlyAudience = (aud: unknown, audience: string) =>
  aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience);

function checkTimes(payload: JWTPayload, expected: ExpectedProof, what: string, fail: Fail): void {
  const now = Math.floor(expected.now.getTime() / 1000);
  const skew = expected.skewSeconds;
  if (typeof payload.exp !== 'number') throw fail(`the ${what} must carry exp`);
  if (payload.exp <= now - skew) throw fail(`the ${what} has expired`);
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + skew)) {
    throw fail(`the ${what} is not yet valid (nbf)`);
  }
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now + skew)) {
    throw fail(`the ${what} was issued in the future (iat)`);
  }
}

/**
 * OpenID Federation 1.0 §12.1.1.1: what a Request Object must say before any key is looked for. It is checked
 * on every Request Object this server accepts, not only on those that register a client, so the rules do not
 * depend on whether the RP happens to be registered already.
 */
export function checkRequestObjectClaims(jwt: unknown, expected: ExpectedProof): DecodedProof {
  const fail: Fail = (description) => oauthError('invalid_request_object', description);
  const decoded = decode(jwt, 'Request Object', fail);
  const { header, payload } = decoded;
  // §12.1.1.1: "The JWT MUST be signed"; RFC 9101 §10.2: only asymmetric algorithms prove the RP's keys.
  if (typeof header.alg !== 'string' || !expected.algorithms.includes(header.alg)) {
    throw fail(`the Request Object must be signed with one of ${expected.algorithms.join(', ')}`);
  }
  // §12.1.1.1 iss, client_id: REQUIRED, both the RP's Entity Identifier.
  if (payload.iss !== expected.clientId) throw fail('iss of the Request Object must be the client_id');
  if ((payload as { client_id?: unknown }).client_id !== expected.clientId) {
    throw fail('client_id of the Request Object must be present and equal to the client_id of the request');
  }
  // §12.1.1.1 aud: REQUIRED, the OP's Entity Identifier and no other value.
  if (!onlyAudience(payload.aud, expected.audience)) {
    throw fail(`aud of the Request Object must be ${expected.audience} and nothing else`);
  }
  // §12.1.1.1 sub: MUST NOT be present, so the JWT cannot double as a private_key_jwt client assertion.
  if (payload.sub !== undefined) throw fail('the Request Object must not contain sub');
  // §12.1.1.1 jti: REQUIRED (a Request Object is used once); exp: REQUIRED.
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) {
    throw fail('the Request Object must carry a jti');
  }
  checkTimes(payload, expected, 'Request Object', fail);
  const now = Math.floor(expected.now.getTime() / 1000);
  if ((payload.exp as number) > now + MAX_REQUEST_OBJECT_LIFETIME_SECONDS + expected.skewSeconds) {
    throw fail(`the Request Object must expire within ${MAX_REQUEST_OBJECT_LIFETIME_SECONDS} seconds`);
  }
  return decoded;
}

/**
 * §12.1.1.2 / OpenID Connect Core §9 (private_key_jwt): a client assertion that registers a client at the PAR
 * endpoint names the RP as iss and sub, and the OP's Entity Identifier as its only audience.
 */
export function checkClientAssertionClaims(
  jwt: unknown,
  assertionType: unknown,
  expected: ExpectedProof,
): DecodedProof {
  const fail: Fail = (description) => oauthError('invalid_client', description);
  // RFC 7523 §2.2: the only assertion type this server takes.
  if (assertionType !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    throw fail('client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  }
  const decoded = decode(jwt, 'client assertion', fail);
  const { header, payload } = decoded;
  if (typeof header.alg !== 'string' || !expected.algorithms.includes(header.alg)) {
    throw fail(`the client assertion must be signed with one of ${expected.algorithms.join(', ')}`);
  }
  if (payload.iss !== expected.clientId || payload.sub !== expected.clientId) {
    throw fail('iss and sub of the client assertion must both be the client_id');
  }
  // §12.1.1.2: "the audience ... MUST be the Entity Identifier of the OP and MUST NOT include any other values".
  if (!onlyAudience(payload.aud, expected.audience)) {
    throw fail(`aud of the client assertion must be ${expected.audience} and nothing else`);
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) {
    throw fail('the client assertion must carry a jti');
  }
  checkTimes(payload, expected, 'client assertion', fail);
  return decoded;
}
