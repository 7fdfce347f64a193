import type { FastifyReply, FastifyRequest } from 'fastify';
import { JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import { FederationError } from '../../federation-error.ts';
import type { ResolvedEntity, ResolveResult, TrustChainResolver } from '../../types.ts';
import { epochSeconds, type FederationAuthority } from '../authority.ts';
import { validateEntityId } from '../validate-subordinate.ts';
import { entityIdParam, multiParam, type Params } from './request-params.ts';
import { sendJwt } from './send-jwt.ts';

/** The parameters of a resolve request (§8.3.1), validated. */
export interface ResolveRequest {
  sub: string;
  trustAnchors: string[];
  entityTypes: string[];
}

export function parseResolveRequest(params: Params, allowHttpLoopback: boolean): ResolveRequest {
  const sub = entityIdParam(params, 'sub', allowHttpLoopback);
  // §8.3.1: trust_anchor is REQUIRED and MAY occur multiple times; entity_type is OPTIONAL and MAY repeat.
  const trustAnchors = multiParam(params, 'trust_anchor');
  if (trustAnchors.length === 0) {
    throw new FederationError('invalid_request', 400, 'required parameter trust_anchor is missing');
  }
  for (const anchor of trustAnchors) {
    try {
      validateEntityId(anchor, 'trust_anchor', { allowHttpLoopback });
    } catch {
      throw new FederationError('invalid_request', 400, 'parameter trust_anchor is not an Entity Identifier');
    }
  }
  const entityTypes = multiParam(params, 'entity_type');
  if (entityTypes.some((t) => !/^[a-z][a-z0-9_]{0,63}$/.test(t))) {
    throw new FederationError(
      'invalid_request',
      400,
      'parameter entity_type is not an Entity Type Identifier',
    );
  }
  return { sub, trustAnchors, entityTypes };
}

/** The first chain that validates, trying the requested Trust Anchors in order (§8.3.1: any of them MAY be used). */
async function resolveWithAnyAnchor(
  resolver: TrustChainResolver,
  request: ResolveRequest,
  anchors: string[],
): Promise<ResolveResult> {
  let last: ResolveResult = { ok: false, findings: [] };
  for (const trustAnchor of anchors) {
    last = await resolver.resolve(request.sub, {
      trustAnchor,
      ...(request.entityTypes.length === 1 ? { entityType: request.entityTypes[0] } : {}),
    });
    if (last.ok) return last;
  }
  return last;
}

/** The resolve response claims (§8.3.2): exp is the earliest of the chain's and the included Trust Marks'. */
export function resolveResponseClaims(
  authority: FederationAuthority,
  entity: ResolvedEntity,
  entityTypes: string[],
  now: Date,
): Record<string, unknown> {
  const metadata =
    entityTypes.length === 0
      ? entity.metadata
      : Object.fromEntries(Object.entries(entity.metadata).filter(([type]) => entityTypes.includes(type)));
  const marks = entity.trustMarks;
  const exp = Math.min(
    entity.expiresAt,
    ...marks.map((m) => m.exp).filter((e): e is number => typeof e === 'number'),
  );
  return {
    iss: authority.entityId,
    sub: entity.entityId,
    iat: epochSeconds(now),
    exp,
    metadata,
    ...(marks.length > 0
      ? { trust_marks: marks.map((m) => ({ trust_mark_type: m.trust_mark_type, trust_mark: m.trust_mark })) }
      : {}),
    trust_chain: entity.trustChain,
  };
}

/**
 * §8.3: GET ?sub=…&trust_anchor=…[&entity_type=…] → a signed resolve response (typ resolve-response+jwt) with
 * the subject's resolved metadata, its verified Trust Marks and the Trust Chain used.
 */
export function createResolveHandler(authority: FederationAuthority, resolver: TrustChainResolver) {
  return async function resolve(request: FastifyRequest, reply: FastifyReply) {
    const parsed = parseResolveRequest(request.query as Params, authority.allowHttpLoopback);
    const configured = authority.trustAnchors;
    const anchors = configured
      ? parsed.trustAnchors.filter((a) => configured.includes(a))
      : parsed.trustAnchors;
    if (anchors.length === 0) {
      throw new FederationError(
        'invalid_trust_anchor',
        404,
        'none of the requested Trust Anchors is trusted here',
      );
    }
    const result = await resolveWithAnyAnchor(resolver, parsed, anchors);
    if (!result.ok) {
      const first = result.findings[0];
      throw new FederationError(
        'invalid_trust_chain',
        400,
        first ? `no valid Trust Chain: ${first.message} (${first.step})` : 'no valid Trust Chain',
        { findings: result.findings },
      );
    }
    const now = authority.clock();
    const claims = resolveResponseClaims(authority, result.entity, parsed.entityTypes, now);
    const signer = await authority.keys.signer();
    return sendJwt(reply, MEDIA_TYPES.resolveResponse, await signer.sign(claims, JWT_TYPES.resolveResponse));
  };
}
