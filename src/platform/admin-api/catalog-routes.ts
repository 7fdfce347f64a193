import type { FastifyInstance } from 'fastify';
import { listAuditEvents, verifyAuditChain } from '../../audit/index.ts';
import {
  type CatalogOperationInput,
  createCatalogOperation,
  deleteCatalogOperation,
  HTTP_METHODS,
  listCatalog,
  listRoles,
  updateCatalogOperation,
} from '../../directory/index.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const operationFields = {
  method: { type: 'string', enum: [...HTTP_METHODS] },
  path_pattern: { type: 'string', minLength: 1, maxLength: 512 },
  scope: { type: 'string', minLength: 1, maxLength: 128 },
  description: { type: 'string', maxLength: 500 },
} as const;
const operationSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, ...operationFields },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;

interface OperationBody {
  method?: string;
  path_pattern?: string;
  scope?: string;
  description?: string;
}

function toInput(body: OperationBody): Partial<CatalogOperationInput> {
  return {
    ...(body.method !== undefined ? { method: body.method } : {}),
    ...(body.path_pattern !== undefined ? { pathPattern: body.path_pattern } : {}),
    ...(body.scope !== undefined ? { scope: body.scope } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
  };
}

export function registerCatalogRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    '/catalog/operations',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Add an operation (method + path pattern → scope); every gateway applies it at once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['method', 'path_pattern', 'scope'],
          properties: operationFields,
        },
        response: { 201: operationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as Required<Pick<OperationBody, 'method' | 'path_pattern' | 'scope'>> &
        OperationBody;
      const input = { ...toInput(body), description: body.description ?? '' } as CatalogOperationInput;
      const view = await deps.storage.transaction((tx) =>
        createCatalogOperation(tx, input, meta(request.actor)),
      );
      return reply.code(201).header('location', `/admin/v1/catalog/operations/${view.id}`).send(view);
    },
  );
  app.patch(
    '/catalog/operations/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Change an operation’s method, path pattern, scope or description; applied live',
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: operationFields },
        response: { 200: operationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const patch = toInput(request.body as OperationBody);
      return deps.storage.transaction((tx) => updateCatalogOperation(tx, id, patch, meta(request.actor)));
    },
  );
  app.delete(
    '/catalog/operations/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Remove an operation; gateways answer 404 route_not_found for it at once',
        params: idParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await deps.storage.transaction((tx) => deleteCatalogOperation(tx, id, meta(request.actor)));
      return reply.code(204).send();
    },
  );
  app.get(
    '/roles',
    { schema: { tags: ['catalog'], summary: 'Roles and the scopes each grants' } },
    async () => ({
      items: await listRoles(deps.storage.db),
    }),
  );
  app.get(
    '/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Access catalog: operation → required scope → roles that grant it',
      },
    },
    async () => ({ items: await listCatalog(deps.storage.db) }),
  );
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log, oldest first, from a sequence number',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as { after?: string; limit?: string };
      const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
      return { items: await listAuditEvents(deps.storage.db, { after: Number(q.after ?? 0), limit }) };
    },
  );
  app.get(
    '/audit/verify',
    { schema: { tags: ['audit'], summary: 'Recompute the audit hash chain' } },
    async () => verifyAuditChain(deps.storage.db),
  );
}
