import type { FastifyReply, FastifyRequest } from 'fastify';
import { FederationError } from '../../federation-error.ts';
import type { FederationAuthority } from '../authority.ts';
import { validTrustMarks } from '../valid-trust-marks-query.ts';
import { entityIdParam, type Params, singleParam } from './request-params.ts';
import { sendJsonArray } from './send-jwt.ts';

/** §8.5: GET ?trust_mark_type=…[&sub=…] → the entities holding a valid Trust Mark of that type. */
export function createTrustMarkListHandler(authority: FederationAuthority) {
  return async function trustMarkedEntities(request: FastifyRequest, reply: FastifyReply) {
    const params = request.query as Params;
    const type = singleParam(params, 'trust_mark_type', true);
    const sub =
      params.sub === undefined ? undefined : entityIdParam(params, 'sub', authority.allowHttpLoopback);
    if (!authority.trustMarkTypes.some((t) => t.type === type)) {
      throw new FederationError('not_found', 404, 'the platform does not issue trust marks of this type');
    }
    let q = validTrustMarks(authority.db, authority.clock())
      .select('t.sub')
      .distinct()
      .where('t.trust_mark_type', '=', type);
    // §8.5.1: the list MUST be filtered to the entity matching sub.
    if (sub !== undefined) q = q.where('t.sub', '=', sub);
    const rows = await q.orderBy('t.sub').execute();
    return sendJsonArray(
      reply,
      rows.map((r) => r.sub),
    );
  };
}
