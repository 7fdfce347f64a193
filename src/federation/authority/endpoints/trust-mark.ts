import type { FastifyReply, FastifyRequest } from 'fastify';
import { JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import { FederationError } from '../../federation-error.ts';
import type { FederationAuthority } from '../authority.ts';
import { trustMarkClaims, trustMarkView } from '../trust-mark-store.ts';
import { validTrustMarks } from '../valid-trust-marks-query.ts';
import { entityIdParam, type Params, singleParam } from './request-params.ts';
import { sendJwt } from './send-jwt.ts';

/**
 * §8.6: GET ?trust_mark_type=…&sub=… → the newest valid Trust Mark of that type issued to sub, signed now with
 * the active key (so a rotation never leaves a subject holding a mark only a retired key can verify).
 */
export function createTrustMarkHandler(authority: FederationAuthority) {
  return async function trustMark(request: FastifyRequest, reply: FastifyReply) {
    const params = request.query as Params;
    const type = singleParam(params, 'trust_mark_type', true);
    const sub = entityIdParam(params, 'sub', authority.allowHttpLoopback);
    if (!authority.trustMarkTypes.some((t) => t.type === type)) {
      throw new FederationError('not_found', 404, 'the platform does not issue trust marks of this type');
    }
    const row = await validTrustMarks(authority.db, authority.clock())
      .selectAll('t')
      .where('t.trust_mark_type', '=', type)
      .where('t.sub', '=', sub)
      .orderBy('t.iat', 'desc')
      .orderBy('t.created_at', 'desc')
      .executeTakeFirst();
    // §8.6.2: the entity does not have the Trust Mark → 404.
    if (!row) throw new FederationError('not_found', 404, 'the entity has no valid trust mark of this type');
    const signer = await authority.keys.signer();
    const jwt = await signer.sign(
      trustMarkClaims(trustMarkView(row), authority.entityId),
      JWT_TYPES.trustMark,
    );
    return sendJwt(reply, MEDIA_TYPES.trustMark, jwt);
  };
}
