import type { FastifyInstance } from 'fastify';
import {
  endFederationRegistration,
  endFederationRegistrationsVia,
} from '../../authorization-server/index.ts';
import type { ChainFinding, ResolveResult, TrustChainResolver } from '../../federation/index.ts';
import {
  addSubordinate,
  getSubordinate,
  getTrustMark,
  issueTrustMark,
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
  listFederationKeys,
  listSubordinates,
  listTrustMarks,
  removeSubordinate,
  revokeFederationKey,
  revokeTrustMark,
  rotateFederationKey,
  type TrustMarkTypeConfig,
  updateSubordinate,
} from '../../federation/index.ts';
import { KEY_ALGORITHMS } from '../../pki/index.ts';
import type { AdminDeps } from './deps.ts';
import {
  errorResponses,
  federationKeySchema,
  federationResolutionSchema,
  reasonBody,
  subordinateSchema,
  trustMarkSchema,
} from './schemas.ts';

/** What the federation admin routes need beyond the common dependencies. */
export interface FederationAdminDeps {
  kek: string;
  entityId: string;
  statementLifetimeSeconds: number;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  allowHttpLoopback: boolean;
  /** The platform's trust chain resolver (for operator diagnostics of a chain). */
  resolver: TrustChainResolver;
}

const tags = ['federation'];
const jsonObject = { type: 'object', additionalProperties: true } as const;
const nullableObject = { type: ['object', 'null'], additionalProperties: true } as const;
const entityTypes = {
  type: 'array',
  maxItems: 20,
  items: { type: 'string', minLength: 1, maxLength: 64 },
} as const;
const policyCrit = {
  type: 'array',
  minItems: 1,
  maxItems: 20,
  items: { type: 'string', minLength: 1, maxLength: 100 },
} as const;
// The Entity Identifier is one URL-encoded path segment: /federation/subordinates/https%3A%2F%2Frp.example
const entityParams = {
  type: 'object',
  required: ['entityId'],
  properties: { entityId: { type: 'string', minLength: 1, maxLength: 2048 } },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const kidParams = {
  type: 'object',
  required: ['kid'],
  properties: { kid: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

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

interface SubordinateBody {
  entity_id: string;
  org_id: string;
  jwks: unknown;
  is_intermediate?: boolean;
  entity_types?: string[];
  metadata?: unknown;
  metadata_policy?: unknown;
  constraints?: unknown;
  metadata_policy_crit?: string[];
}

export function registerFederationRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: FederationAdminDeps,
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  const subordinatePath = (entityId: string) =>
    `/admin/v1/federation/subordinates/${encodeURIComponent(entityId)}`;

  app.get(
    '/federation/subordinates',
    {
      schema: {
        tags,
        summary: 'List federation subordinates (Immediate Subordinates the platform issues statements about)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org_id: { type: 'string', maxLength: 64 },
            status: { type: 'string', enum: ['active', 'removed'] },
            intermediate: { type: 'string', enum: ['true', 'false'] },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: subordinateSchema } } },
        },
      },
    },
    async (request) => {
      const q = request.query as { org_id?: string; status?: 'active' | 'removed'; intermediate?: string };
      return {
        items: await listSubordinates(deps.storage.db, {
          orgId: q.org_id,
          status: q.status,
          intermediate: q.intermediate === undefined ? undefined : q.intermediate === 'true',
        }),
      };
    },
  );

  app.post(
    '/federation/subordinates',
    {
      schema: {
        tags,
        summary:
          'Add a subordinate, linked to an organisation; its Federation Entity Keys (jwks) are required',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['entity_id', 'org_id', 'jwks'],
          properties: {
            entity_id: { type: 'string', minLength: 1, maxLength: 2048 },
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            jwks: jsonObject,
            is_intermediate: { type: 'boolean' },
            entity_types: entityTypes,
            metadata: jsonObject,
            metadata_policy: jsonObject,
            constraints: jsonObject,
            metadata_policy_crit: policyCrit,
          },
        },
        response: { 201: subordinateSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as SubordinateBody;
      const created = await deps.storage.transaction((tx) =>
        addSubordinate(
          tx,
          {
            entityId: body.entity_id,
            orgId: body.org_id,
            jwks: body.jwks,
            isIntermediate: body.is_intermediate,
            entityTypes: body.entity_types,
            metadata: body.metadata,
            metadataPolicy: body.metadata_policy,
            constraints: body.constraints,
            metadataPolicyCrit: body.metadata_policy_crit,
          },
          { authorityEntityId: fed.entityId, allowHttpLoopback: fed.allowHttpLoopback },
          meta(request.actor),
        ),
      );
      return reply.code(201).header('location', subordinatePath(created.entity_id)).send(created);
    },
  );

  app.get(
    '/federation/subordinates/:entityId',
    {
      schema: {
        tags,
        summary: 'Read a subordinate (the Entity Identifier URL-encoded in the path)',
        params: entityParams,
        response: { 200: subordinateSchema, ...errorResponses },
      },
    },
    async (request) => getSubordinate(deps.storage.db, (request.params as { entityId: string }).entityId),
  );

  app.patch(
    '/federation/subordinates/:entityId',
    {
      schema: {
        tags,
        summary: 'Change what the Subordinate Statement says; null clears metadata, policy or constraints',
        params: entityParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            jwks: jsonObject,
            is_intermediate: { type: 'boolean' },
            entity_types: entityTypes,
            metadata: nullableObject,
            metadata_policy: nullableObject,
            constraints: nullableObject,
            metadata_policy_crit: { ...policyCrit, type: ['array', 'null'] },
          },
        },
        response: { 200: subordinateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { entityId } = request.params as { entityId: string };
      const body = request.body as Partial<SubordinateBody>;
      return deps.storage.transaction(async (tx) => {
        const before = await getSubordinate(tx.db, entityId);
        const updated = await updateSubordinate(
          tx,
          entityId,
          {
            orgId: body.org_id,
            jwks: body.jwks,
            isIntermediate: body.is_intermediate,
            entityTypes: body.entity_types,
            metadata: body.metadata,
            metadataPolicy: body.metadata_policy,
            constraints: body.constraints,
            metadataPolicyCrit: body.metadata_policy_crit,
          },
          meta(request.actor),
        );
        // Registrations rest on what the subordinate was: another organisation or other keys end them now
        // (§12.3), rather than at their next re-evaluation; the clients register again under the new terms.
        if (
          before.org_id !== updated.org_id ||
          JSON.stringify(before.jwks) !== JSON.stringify(updated.jwks) ||
          before.is_intermediate !== updated.is_intermediate
        ) {
          await endFederationRegistrationsVia(tx, entityId, meta(request.actor));
        }
        return updated;
      });
    },
  );

  // Removing a subordinate ends, in the same transaction, every federation registration resting on it
  // (OpenID Federation 1.0 §12.3): the gateway refuses those clients from the very next request.
  const remove = (entityId: string, actor: string, reason: string | undefined) =>
    deps.storage.transaction(async (tx) => {
      const removed = await removeSubordinate(tx, entityId, { ...meta(actor), reason });
      await endFederationRegistrationsVia(tx, entityId, meta(actor));
      return removed;
    });
  app.delete(
    '/federation/subordinates/:entityId',
    {
      schema: {
        tags,
        summary: 'Remove a subordinate: its statement is no longer served and its trust marks are revoked',
        params: entityParams,
        response: { 200: subordinateSchema, ...errorResponses },
      },
    },
    async (request) => remove((request.params as { entityId: string }).entityId, request.actor, undefined),
  );
  app.post(
    '/federation/subordinates/:entityId/remove',
    {
      schema: {
        tags,
        summary: 'Remove a subordinate, with a reason for the audit log (same as DELETE)',
        params: entityParams,
        body: reasonBody,
        response: { 200: subordinateSchema, ...errorResponses },
      },
    },
    async (request) =>
      remove(
        (request.params as { entityId: string }).entityId,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );

  app.get(
    '/federation/trust-marks',
    {
      schema: {
        tags,
        summary: 'List the trust marks the platform issued',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            sub: { type: 'string', maxLength: 2048 },
            trust_mark_type: { type: 'string', maxLength: 2048 },
            status: { type: 'string', enum: ['active', 'revoked'] },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: trustMarkSchema } } },
        },
      },
    },
    async (request) => {
      const q = request.query as { sub?: string; trust_mark_type?: string; status?: 'active' | 'revoked' };
      return {
        items: await listTrustMarks(deps.storage.db, {
          sub: q.sub,
          trustMarkType: q.trust_mark_type,
          status: q.status,
        }),
      };
    },
  );

  app.post(
    '/federation/trust-marks',
    {
      schema: {
        tags,
        summary: 'Issue a trust mark of a configured type to an active subordinate',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['trust_mark_type', 'sub'],
          properties: {
            trust_mark_type: { type: 'string', minLength: 1, maxLength: 2048 },
            sub: { type: 'string', minLength: 1, maxLength: 2048 },
            expires_in: { type: 'integer', minimum: 60 },
          },
        },
        response: { 201: trustMarkSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { trust_mark_type: string; sub: string; expires_in?: number };
      const issued = await deps.storage.transaction((tx) =>
        issueTrustMark(
          tx,
          { trustMarkType: body.trust_mark_type, sub: body.sub, expiresIn: body.expires_in },
          fed.trustMarkTypes,
          meta(request.actor),
        ),
      );
      return reply.code(201).header('location', `/admin/v1/federation/trust-marks/${issued.id}`).send(issued);
    },
  );

  app.get(
    '/federation/trust-marks/:id',
    {
      schema: {
        tags,
        summary: 'Read a trust mark',
        params: idParams,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) => getTrustMark(deps.storage.db, (request.params as { id: string }).id),
  );

  // A revoked Trust Mark may have been what granted a client its roles: its registration ends at once and the
  // client registers again with the marks it still holds (§12.3).
  const revoke = (id: string, actor: string, reason: string | undefined) =>
    deps.storage.transaction(async (tx) => {
      const revoked = await revokeTrustMark(tx, id, { ...meta(actor), reason });
      await endFederationRegistration(tx, revoked.sub, `trust mark ${id} was revoked`, meta(actor));
      return revoked;
    });
  app.delete(
    '/federation/trust-marks/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a trust mark: its status becomes revoked at once',
        params: idParams,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) => revoke((request.params as { id: string }).id, request.actor, undefined),
  );
  app.post(
    '/federation/trust-marks/:id/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a trust mark, with a reason for the audit log (same as DELETE)',
        params: idParams,
        body: reasonBody,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) =>
      revoke(
        (request.params as { id: string }).id,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );

  // A diagnostic: no valid chain is still 200 with ok: false and every finding; nothing changes, nothing is audited.
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

  app.get(
    '/federation/keys',
    {
      schema: {
        tags,
        summary: 'Federation signing keys, newest first: active, retired (published during overlap), revoked',
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: federationKeySchema } } },
        },
      },
    },
    async () => ({
      items: await listFederationKeys(deps.storage.db, deps.clock(), fed.statementLifetimeSeconds),
    }),
  );

  app.post(
    '/federation/keys/rotate',
    {
      schema: {
        tags,
        summary:
          'New active federation key; the old one is retired and stays published for one statement lifetime',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { alg: { type: 'string', enum: [...KEY_ALGORITHMS] } },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              active: federationKeySchema,
              retired: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const alg = (request.body as { alg?: string } | undefined)?.alg;
      const rotated = await deps.storage.transaction((tx) =>
        rotateFederationKey(
          tx,
          { kek: fed.kek, alg, statementLifetimeSeconds: fed.statementLifetimeSeconds },
          meta(request.actor),
        ),
      );
      return reply.code(201).send(rotated);
    },
  );

  app.post(
    '/federation/keys/:kid/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a retired federation key (historical keys then report it revoked)',
        params: kidParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: [...KEY_REVOCATION_REASONS] } },
        },
        response: { 200: federationKeySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { kid } = request.params as { kid: string };
      const reason = ((request.body as { reason?: string } | undefined)?.reason ??
        'unspecified') as KeyRevocationReason;
      return deps.storage.transaction((tx) =>
        revokeFederationKey(
          tx,
          kid,
          reason,
          { statementLifetimeSeconds: fed.statementLifetimeSeconds },
          meta(request.actor),
        ),
      );
    },
  );
}
