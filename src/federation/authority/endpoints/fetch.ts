import type { FastifyReply, FastifyRequest } from 'fastify';
import { JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import type { EntityStatementClaims } from '../../entity-statement.ts';
import { FederationError } from '../../federation-error.ts';
import { epochSeconds, type FederationAuthority } from '../authority.ts';
import { findServedSubordinate, type SubordinateView } from '../subordinates.ts';
import { entityIdParam, type Params } from './request-params.ts';
import { sendJwt } from './send-jwt.ts';

/** The Subordinate Statement about one Immediate Subordinate (§3.1.3, §8.1.2). */
export function subordinateStatementClaims(
  authority: FederationAuthority,
  subordinate: SubordinateView,
  now: Date,
): EntityStatementClaims {
  const iat = epochSeconds(now);
  const claims: EntityStatementClaims = {
    iss: authority.entityId,
    sub: subordinate.entity_id,
    iat,
    exp: iat + authority.statementLifetimeSeconds,
    jwks: subordinate.jwks,
    // §3.1.3: lets a verifier refresh the statement without re-reading our Entity Configuration.
    source_endpoint: authority.urls.fetch,
  };
  if (subordinate.metadata) claims.metadata = subordinate.metadata;
  if (subordinate.metadata_policy) claims.metadata_policy = subordinate.metadata_policy;
  if (subordinate.metadata_policy_crit) claims.metadata_policy_crit = subordinate.metadata_policy_crit;
  if (subordinate.constraints)
    claims.constraints = subordinate.constraints as EntityStatementClaims['constraints'];
  // §6.2.1: a leaf subordinate may not vouch for anyone below it — no Intermediate between us and a subject.
  if (!subordinate.is_intermediate) claims.constraints = { ...claims.constraints, max_path_length: 0 };
  return claims;
}

/** §8.1: GET ?sub=… → the Subordinate Statement, signed with the platform's active federation key. */
export function createFetchHandler(authority: FederationAuthority) {
  return async function fetchSubordinateStatement(request: FastifyRequest, reply: FastifyReply) {
    const sub = entityIdParam(request.query as Params, 'sub', authority.allowHttpLoopback);
    // §8.1.2: invalid_request is RECOMMENDED when sub is the issuer itself.
    if (sub === authority.entityId) {
      throw new FederationError(
        'invalid_request',
        400,
        'sub is the issuer itself; fetch its Entity Configuration',
      );
    }
    const subordinate = await findServedSubordinate(authority.db, sub);
    // §8.1.2: not_found is RECOMMENDED when the endpoint has no statement for sub (unknown, removed, suspended).
    if (!subordinate)
      throw new FederationError('not_found', 404, 'no Immediate Subordinate with this Entity Identifier');
    const claims = subordinateStatementClaims(authority, subordinate, authority.clock());
    const signer = await authority.keys.signer();
    return sendJwt(reply, MEDIA_TYPES.entityStatement, await signer.sign(claims, JWT_TYPES.entityStatement));
  };
}
