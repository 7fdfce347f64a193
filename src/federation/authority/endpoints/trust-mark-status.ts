import type { FastifyReply, FastifyRequest } from 'fastify';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import { FEDERATION_SIGNING_ALGORITHMS, JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import { FederationError } from '../../federation-error.ts';
import { epochSeconds, type FederationAuthority } from '../authority.ts';
import { trustMarkView } from '../trust-mark-store.ts';
import { type Params, singleParam } from './request-params.ts';
import { sendJwt } from './send-jwt.ts';

/** §8.4.2 status values. */
export const TRUST_MARK_STATUSES = ['active', 'expired', 'revoked', 'invalid'] as const;
export type TrustMarkStatus = (typeof TRUST_MARK_STATUSES)[number];

/** How long a status response may be relied on: a point-in-time answer, so at most an hour. */
const STATUS_RESPONSE_MAX_SECONDS = 3600;

const FORM = 'application/x-www-form-urlencoded';

interface Decoded {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function decode(jwt: string): Decoded {
  try {
    return { header: decodeProtectedHeader(jwt) as Record<string, unknown>, payload: decodeJwt(jwt) };
  } catch {
    throw new FederationError('invalid_request', 400, 'trust_mark is not a JWT');
  }
}

/** Signature and header checks (§7: typ trust-mark+jwt, kid, an accepted alg) against the keys that may have signed it. */
async function signatureIsValid(
  authority: FederationAuthority,
  jwt: string,
  header: Record<string, unknown>,
) {
  if (header.typ !== JWT_TYPES.trustMark) return false;
  if (typeof header.kid !== 'string' || header.kid.length === 0) return false;
  if (!(FEDERATION_SIGNING_ALGORITHMS as readonly unknown[]).includes(header.alg)) return false;
  // Revoked keys are not among them: a mark signed with one is invalid whatever the database says.
  const jwks = await authority.keys.verificationJwks();
  try {
    await compactVerify(jwt, createLocalJWKSet(jwks), { algorithms: [...FEDERATION_SIGNING_ALGORITHMS] });
    return true;
  } catch {
    return false;
  }
}

/** Decides the status of a Trust Mark the platform issued; throws not_found for marks it did not issue (§8.4.2). */
async function statusOf(authority: FederationAuthority, jwt: string, now: Date): Promise<TrustMarkStatus> {
  const { header, payload } = decode(jwt);
  // §8.4.2: a mark the issuer did not issue or does not know → 404.
  if (payload.iss !== authority.entityId) {
    throw new FederationError('not_found', 404, 'this trust mark was not issued by this entity');
  }
  if (!(await signatureIsValid(authority, jwt, header))) return 'invalid';
  const { jti, sub, trust_mark_type: type, iat } = payload;
  if (typeof sub !== 'string' || typeof type !== 'string' || typeof iat !== 'number') return 'invalid';
  let q = authority.db.selectFrom('federation_trust_marks').selectAll();
  // Ours carry jti; a mark without one is looked up by the claims that identify an instance (§7.1).
  q =
    typeof jti === 'string'
      ? q.where('id', '=', jti)
      : q.where('trust_mark_type', '=', type).where('sub', '=', sub).where('iat', '=', iat);
  const row = await q.executeTakeFirst();
  if (!row) throw new FederationError('not_found', 404, 'unknown trust mark');
  const mark = trustMarkView(row);
  // A validly signed JWT whose claims differ from the record is not one we issued as such.
  if (mark.sub !== sub || mark.trust_mark_type !== type || mark.iat !== iat) {
    return 'invalid';
  }
  if (mark.status === 'revoked') return 'revoked';
  if (mark.exp !== null && mark.exp <= epochSeconds(now)) return 'expired';
  return 'active';
}

/**
 * §8.4: POST trust_mark=<jwt> (application/x-www-form-urlencoded) → a signed Trust Mark Status Response
 * (typ trust-mark-status-response+jwt) with iss, iat, trust_mark and status.
 */
export function createTrustMarkStatusHandler(authority: FederationAuthority) {
  return async function trustMarkStatus(request: FastifyRequest, reply: FastifyReply) {
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== FORM) {
      throw new FederationError('invalid_request', 400, `the request body must be ${FORM}`);
    }
    const trustMark = singleParam((request.body ?? {}) as Params, 'trust_mark', true);
    const now = authority.clock();
    const status = await statusOf(authority, trustMark, now);
    const iat = epochSeconds(now);
    const claims = {
      iss: authority.entityId,
      iat,
      // Not required by §8.4.2, but verifiers that insist on exp (ours do) accept the response with it.
      exp: iat + Math.min(authority.statementLifetimeSeconds, STATUS_RESPONSE_MAX_SECONDS),
      trust_mark: trustMark,
      status,
    };
    const signer = await authority.keys.signer();
    const jwt = await signer.sign(claims, JWT_TYPES.trustMarkStatusResponse);
    return sendJwt(reply, MEDIA_TYPES.trustMarkStatusResponse, jwt);
  };
}
