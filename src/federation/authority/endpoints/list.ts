import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FederationAuthority } from '../authority.ts';
import { servedSubordinates } from '../subordinates.ts';
import { validTrustMarks } from '../valid-trust-marks-query.ts';
import { booleanParam, multiParam, type Params, singleParam } from './request-params.ts';
import { sendJsonArray } from './send-jwt.ts';

/**
 * §8.2: the Immediate Subordinates, filtered by every supported parameter. All four filters of §8.2.1 are
 * supported, so unsupported_parameter never applies; parameters that are not understood are ignored (§8).
 */
export function createListHandler(authority: FederationAuthority) {
  return async function listSubordinates(request: FastifyRequest, reply: FastifyReply) {
    const params = request.query as Params;
    const entityTypes = multiParam(params, 'entity_type');
    const trustMarked = booleanParam(params, 'trust_marked');
    const trustMarkType = singleParam(params, 'trust_mark_type');
    const intermediate = booleanParam(params, 'intermediate');

    let q = servedSubordinates(authority.db).select(['s.entity_id', 's.entity_types', 's.is_intermediate']);
    // The spec defines only intermediate=true; false is read as "Leaf Entities only" rather than ignored.
    if (intermediate !== undefined) q = q.where('s.is_intermediate', '=', intermediate ? 1 : 0);
    let rows = await q.orderBy('s.entity_id').execute();
    if (entityTypes.length > 0) {
      // Several entity_type values: entities of any of the specified types are listed.
      rows = rows.filter((r) =>
        (JSON.parse(r.entity_types) as string[]).some((t) => entityTypes.includes(t)),
      );
    }
    if (trustMarked === true || trustMarkType !== undefined) {
      let marks = validTrustMarks(authority.db, authority.clock()).select('t.sub');
      if (trustMarkType !== undefined) marks = marks.where('t.trust_mark_type', '=', trustMarkType);
      const marked = new Set((await marks.execute()).map((m) => m.sub));
      rows = rows.filter((r) => marked.has(r.entity_id));
    }
    return sendJsonArray(
      reply,
      rows.map((r) => r.entity_id),
    );
  };
}
