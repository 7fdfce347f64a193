import type { FastifyInstance } from 'fastify';
import {
  removeSubordinateEndingRegistrations,
  updateSubordinateEndingRegistrations,
} from '../../../authorization-server/index.ts';
import {
  addSubordinate,
  getSubordinate,
  listSubordinatesPage,
  SUBORDINATE_PAGE_KEY_LENGTH,
} from '../../../federation/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../../shared/page-cursor.ts';
import type { AdminDeps } from '../deps.ts';
import { errorResponses, reasonBody, subordinateSchema } from '../schemas.ts';
import type { FederationAdminDeps } from './federation-admin-deps.ts';
import {
  entityParams,
  entityTypes,
  jsonObject,
  nullableObject,
  policyCrit,
  tags,
} from './request-schemas.ts';

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

/** GET /federation/subordinates */
function listSubordinatesRoute(app: FastifyInstance, deps: AdminDeps): void {
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
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: subordinateSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        org_id?: string;
        status?: 'active' | 'removed';
        intermediate?: string;
        limit?: string;
        cursor?: string;
      };
      return listSubordinatesPage(
        deps.storage.db,
        {
          orgId: q.org_id,
          status: q.status,
          intermediate: q.intermediate === undefined ? undefined : q.intermediate === 'true',
        },
        pageRequest(q, SUBORDINATE_PAGE_KEY_LENGTH),
      );
    },
  );
}

/** POST /federation/subordinates */
function addSubordinateRoute(app: FastifyInstance, deps: AdminDeps, fed: FederationAdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  const subordinatePath = (entityId: string) =>
    `/admin/v1/federation/subordinates/${encodeURIComponent(entityId)}`;
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
}

/** GET /federation/subordinates/:entityId */
function getSubordinateRoute(app: FastifyInstance, deps: AdminDeps): void {
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
}

/** PATCH /federation/subordinates/:entityId: a change of organisation or keys ends the registrations resting on it */
function updateSubordinateRoute(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
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
      return deps.storage.transaction((tx) =>
        updateSubordinateEndingRegistrations(
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
        ),
      );
    },
  );
}

// Removing a subordinate ends, in the same transaction, every federation registration resting on it (§12.3).
const removeVia = (deps: AdminDeps, entityId: string, actor: string, reason: string | undefined) =>
  deps.storage.transaction((tx) =>
    removeSubordinateEndingRegistrations(tx, entityId, { actor, now: deps.clock(), reason }),
  );

/** DELETE /federation/subordinates/:entityId */
function deleteSubordinateRoute(app: FastifyInstance, deps: AdminDeps): void {
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
    async (request) =>
      removeVia(deps, (request.params as { entityId: string }).entityId, request.actor, undefined),
  );
}

/** POST /federation/subordinates/:entityId/remove, with a reason */
function removeSubordinateRoute(app: FastifyInstance, deps: AdminDeps): void {
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
      removeVia(
        deps,
        (request.params as { entityId: string }).entityId,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );
}

/** The subordinate routes: Immediate Subordinates the platform issues statements about. */
export function registerSubordinateRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: FederationAdminDeps,
): void {
  listSubordinatesRoute(app, deps);
  addSubordinateRoute(app, deps, fed);
  getSubordinateRoute(app, deps);
  updateSubordinateRoute(app, deps);
  deleteSubordinateRoute(app, deps);
  removeSubordinateRoute(app, deps);
}
