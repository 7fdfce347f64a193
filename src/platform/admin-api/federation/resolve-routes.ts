import type { FastifyInstance } from 'fastify';
import type { ChainFinding, ResolveResult } from '../../../federation/index.ts';
import { errorResponses, federationResolutionSchema } from '../schemas.ts';
import type { FederationAdminDeps } from './federation-admin-deps.ts';
import { tags } from './request-schemas.ts';

interface ResolveBody {
  entity_id: string;
  trust_anchor?: string;
  entity_type?: string;
  force_refresh?: boolean;
}

const findingView = (f: ChainFinding) => ({
  step: f.step,
  code: f.code,
  message: f.message,
  entity_id: f.entityId ?? null,
});

/** The resolver's answer for operators: the chain's public statements, never the platform's private keys. */
function resolutionView(entityId: string, result: ResolveResult) {
  if (!result.ok) {
    return {
      ok: false,
      entity_id: entityId,
      trust_anchor: null,
      expires_at: null,
      chain: [],
      trust_chain: [],
      metadata: null,
      trust_marks: [],
      findings: result.findings.map(findingView),
    };
  }
  const { entity } = result;
  return {
    ok: true,
    entity_id: entity.entityId,
    trust_anchor: entity.trustAnchor,
    expires_at: new Date(entity.expiresAt * 1000).toISOString(),
    chain: entity.statements.map((s) => ({
      iss: s.iss,
      sub: s.sub,
      iat: s.iat,
      exp: s.exp,
      kind: s.iss === s.sub ? 'entity_configuration' : 'subordinate_statement',
    })),
    trust_chain: entity.trustChain,
    metadata: entity.metadata,
    trust_marks: entity.trustMarks.map((m) => ({
      trust_mark_type: m.trust_mark_type,
      iss: m.iss,
      exp: m.exp ?? null,
    })),
    findings: result.findings.map(findingView),
  };
}

/** POST /federation/resolve: a diagnostic; no valid chain is still 200 with ok: false and every finding, nothing changes, nothing is audited. */
export function registerResolveRoute(app: FastifyInstance, fed: FederationAdminDeps): void {
  app.post(
    '/federation/resolve',
    {
      schema: {
        tags,
        summary: 'Resolve an entity’s Trust Chain as the platform would, with every finding (§10)',
        description:
          'Read-only diagnostic: 200 whether or not a valid chain was found; ok is false, with findings naming the failed specification step, when none was.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['entity_id'],
          properties: {
            entity_id: { type: 'string', minLength: 1, maxLength: 2048 },
            trust_anchor: { type: 'string', minLength: 1, maxLength: 2048 },
            entity_type: { type: 'string', minLength: 1, maxLength: 64 },
            force_refresh: { type: 'boolean' },
          },
        },
        response: { 200: federationResolutionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const body = request.body as ResolveBody;
      const result = await fed.resolver.resolve(body.entity_id, {
        trustAnchor: body.trust_anchor,
        entityType: body.entity_type,
        forceRefresh: body.force_refresh === true,
      });
      return resolutionView(body.entity_id, result);
    },
  );
}
