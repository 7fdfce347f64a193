import type { FastifyInstance } from 'fastify';
import { listAuditEvents, searchAuditEvents, verifyAuditChain } from '../../audit/index.ts';
import {
  activeRevision,
  type CatalogEditMeta,
  type CatalogOperationInput,
  createCatalogOperation,
  deleteCatalogOperation,
  listCatalog,
  listRoles,
  readCatalog,
  updateCatalogOperation,
} from '../../directory/index.ts';
import { invalidInput, notFound } from '../../shared/app-error.ts';
import { decodeCursor, encodeCursor, invalidCursor, pageQueryProperties } from '../../shared/page-cursor.ts';
import { registerCatalogDraftRoutes } from './catalog-draft-routes.ts';
import { registerCatalogEntryRoutes } from './catalog-entry-routes.ts';
import {
  editedFields,
  type OperationBody,
  operationFields,
  operationSchema,
  requiredScopesOf,
  type StageQuery,
  stageQuery,
} from './catalog-schemas.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;

function toInput(body: OperationBody): Partial<CatalogOperationInput> {
  const requiredScopes = requiredScopesOf(body);
  return {
    ...(body.method !== undefined ? { method: body.method.toUpperCase() } : {}),
    ...(body.path_pattern !== undefined ? { pathPattern: body.path_pattern } : {}),
    ...(requiredScopes !== undefined ? { requiredScopes } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
    ...(body.resource !== undefined ? { resource: body.resource } : {}),
    ...(body.auth !== undefined ? { auth: body.auth } : {}),
    ...(body.mtls !== undefined ? { mtls: body.mtls } : {}),
    ...(body.dpop !== undefined ? { dpop: body.dpop } : {}),
    ...(body.owner_param !== undefined ? { ownerParam: body.owner_param } : {}),
    ...(body.status !== undefined ? { status: body.status } : {}),
    ...(body.rate_limit !== undefined ? { rateLimit: body.rate_limit } : {}),
  };
}

/** The edit's actor and time, where it lands (`?stage=draft`) and whether it only reports (`?dry_run=true`). */
export function editMeta(deps: AdminDeps, actor: string, query: StageQuery): CatalogEditMeta {
  return {
    actor,
    now: deps.clock(),
    stage: query.stage ?? 'active',
    dryRun: query.dry_run === 'true',
  };
}

export function registerCatalogRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/catalog/operations',
    { schema: { tags: ['catalog'], summary: 'Operations with their scope alternatives and policy' } },
    async () => ({ items: (await readCatalog(deps.storage.db)).operations }),
  );
  app.get(
    '/catalog/operations/:id',
    { schema: { tags: ['catalog'], summary: 'One operation', params: idParams } },
    async (request) => {
      const { id } = request.params as { id: string };
      const found = (await readCatalog(deps.storage.db)).operations.find((o) => o.id === id);
      if (!found) throw notFound('catalog operation', id);
      return found;
    },
  );
  app.post(
    '/catalog/operations',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Add an operation (method + path pattern → scopes, policy); every gateway applies it at once (?stage=draft stages it)',
        querystring: stageQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['method', 'path_pattern'],
          properties: operationFields,
        },
        response: { 201: operationSchema, 200: operationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as OperationBody & { method: string; path_pattern: string };
      const input = toInput(body);
      const auth = input.auth ?? 'token';
      if (auth === 'token' && input.requiredScopes === undefined) {
        throw invalidInput('a token operation needs its scopes: scope, scopes or required_scopes', {
          field: 'required_scopes',
        });
      }
      const meta = editMeta(deps, request.actor, request.query as StageQuery);
      const view = await deps.storage.transaction((tx) =>
        createCatalogOperation(
          tx,
          {
            ...input,
            requiredScopes: input.requiredScopes ?? [],
            description: body.description ?? '',
          } as CatalogOperationInput,
          meta,
        ),
      );
      if (meta.dryRun) return reply.code(200).send(view);
      return reply.code(201).header('location', `/admin/v1/catalog/operations/${view.id}`).send(view);
    },
  );
  app.patch(
    '/catalog/operations/:id',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Change an operation (pattern, scopes, policy, description, status=deprecated); applied live',
        params: idParams,
        querystring: stageQuery,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: operationFields },
        response: { 200: operationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const patch = toInput(request.body as OperationBody);
      const meta = editMeta(deps, request.actor, request.query as StageQuery);
      return deps.storage.transaction((tx) => updateCatalogOperation(tx, id, patch, meta));
    },
  );
  app.delete(
    '/catalog/operations/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Remove an operation; gateways answer 404 route_not_found for it at once',
        params: idParams,
        querystring: stageQuery,
        response: {
          200: { type: 'object', properties: editedFields },
          204: { type: 'null' },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const meta = editMeta(deps, request.actor, request.query as StageQuery);
      const result = await deps.storage.transaction((tx) => deleteCatalogOperation(tx, id, meta));
      if (meta.dryRun || meta.stage === 'draft') return reply.code(200).send(result);
      return reply.code(204).send();
    },
  );
  app.get(
    '/roles',
    { schema: { tags: ['catalog'], summary: 'Roles and the scopes each grants' } },
    async () => ({ items: await listRoles(deps.storage.db) }),
  );
  app.get(
    '/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Access catalog: operation → required scopes → roles that grant them',
      },
    },
    async () => ({ items: await listCatalog(deps.storage.db) }),
  );
  app.get(
    '/catalog/document',
    { schema: { tags: ['catalog'], summary: 'The active catalog, whole, with its revision' } },
    async () => {
      const [document, revision] = await Promise.all([
        readCatalog(deps.storage.db),
        activeRevision({ db: deps.storage.db }),
      ]);
      return { revision, ...document };
    },
  );
  registerCatalogEntryRoutes(app, deps);
  registerCatalogDraftRoutes(app, deps);
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary:
          'Audit log, oldest first after a sequence number (or newest first with order=desc / before), ' +
          'filtered by actor, action, target and time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
            // Issue 15: the console's audit log page.
            before: { type: 'string', pattern: '^[0-9]{1,15}$' },
            order: { type: 'string', enum: ['asc', 'desc'] },
            actor: { type: 'string', minLength: 1, maxLength: 200 },
            action: { type: 'string', minLength: 1, maxLength: 200 },
            target_type: { type: 'string', minLength: 1, maxLength: 100 },
            target_id: { type: 'string', minLength: 1, maxLength: 300 },
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            // Issue 16: the opaque cursor every list takes (here a sequence number; next_cursor of a page).
            cursor: pageQueryProperties.cursor,
          },
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
      if (q.cursor !== undefined) {
        const [seq] = decodeCursor(q.cursor, 1);
        if (typeof seq !== 'number') throw invalidCursor('not a cursor of this list');
        if (q.order === 'desc' || q.before !== undefined) q.before = String(seq);
        else q.after = String(seq);
      }
      const nextCursor = (items: Array<{ seq: number }>) =>
        items.length === limit ? encodeCursor([(items.at(-1) as { seq: number }).seq]) : null;
      const filtered = ['before', 'order', 'actor', 'action', 'target_type', 'target_id', 'since', 'until'];
      if (!filtered.some((k) => q[k] !== undefined)) {
        const items = await listAuditEvents(deps.storage.db, { after: Number(q.after ?? 0), limit });
        return { items, next_cursor: nextCursor(items) };
      }
      const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
      const page = await searchAuditEvents(deps.storage.db, {
        actor: q.actor,
        action: q.action,
        target_type: q.target_type,
        target_id: q.target_id,
        since: iso(q.since),
        until: iso(q.until),
        after: q.after === undefined ? undefined : Number(q.after),
        before: q.before === undefined ? undefined : Number(q.before),
        order: q.order as 'asc' | 'desc' | undefined,
        limit,
      });
      const desc = q.order === 'desc' || q.before !== undefined;
      return {
        items: page.items,
        ...(desc ? { next_before: page.next } : { next_after: page.next }),
        next_cursor: page.next === null ? null : encodeCursor([page.next]),
      };
    },
  );
  app.get(
    '/audit/verify',
    { schema: { tags: ['audit'], summary: 'Recompute the audit hash chain' } },
    async () => verifyAuditChain(deps.storage.db),
  );
}
