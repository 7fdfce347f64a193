import type { FastifyInstance } from 'fastify';
import {
  CATALOG_ENTRY_PAGE_KEY,
  createCatalogResource,
  createCatalogRole,
  createCatalogScope,
  deleteCatalogResource,
  deleteCatalogRole,
  deleteCatalogScope,
  listCatalogEntriesPage,
  readCatalog,
  updateCatalogResource,
  updateCatalogRole,
  updateCatalogScope,
} from '../../directory/index.ts';
import { notFound } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { Tx } from '../../storage/index.ts';
import { editMeta } from './catalog-routes.ts';
import {
  editedFields,
  nameParams,
  resourceFields,
  resourceSchema,
  roleFields,
  roleSchema,
  type StageQuery,
  scopeFields,
  scopeParams,
  scopeSchema,
  stageQuery,
} from './catalog-schemas.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

type Meta = ReturnType<typeof editMeta>;
type Body = Record<string, unknown> & { name?: string };

interface EntryKind {
  /** URL segment and document key. */
  plural: 'scopes' | 'roles' | 'resources';
  noun: string;
  fields: Record<string, unknown>;
  required: string[];
  schema: Record<string, unknown>;
  params: Record<string, unknown>;
  create(tx: Tx, body: Body, meta: Meta): Promise<object>;
  update(tx: Tx, name: string, body: Body, meta: Meta): Promise<object>;
  remove(tx: Tx, name: string, meta: Meta): Promise<object>;
  summary: string;
}

const KINDS: EntryKind[] = [
  {
    plural: 'scopes',
    noun: 'scope',
    fields: scopeFields,
    required: ['name'],
    schema: scopeSchema,
    params: scopeParams,
    summary: 'a scope (a scope-token; carry a version in the name, e.g. accounts:read:v1, and in `version`)',
    create: (tx, b, m) => createCatalogScope(tx, b as never, m),
    update: (tx, n, b, m) => updateCatalogScope(tx, n, b as never, m),
    remove: (tx, n, m) => deleteCatalogScope(tx, n, m),
  },
  {
    plural: 'roles',
    noun: 'role',
    fields: roleFields,
    required: ['name', 'scopes'],
    schema: roleSchema,
    params: nameParams,
    summary: 'a role: a bundle of scopes granted to applications',
    create: (tx, b, m) => createCatalogRole(tx, b as never, m),
    update: (tx, n, b, m) => updateCatalogRole(tx, n, b as never, m),
    remove: (tx, n, m) => deleteCatalogRole(tx, n, m),
  },
  {
    plural: 'resources',
    noun: 'resource',
    fields: resourceFields,
    required: ['name'],
    schema: resourceSchema,
    params: nameParams,
    summary: 'a resource: the group of operations partners see together',
    create: (tx, b, m) => createCatalogResource(tx, b as never, m),
    update: (tx, n, b, m) => updateCatalogResource(tx, n, b as never, m),
    remove: (tx, n, m) => deleteCatalogResource(tx, n, m),
  },
];

/** `/catalog/scopes`, `/catalog/roles`, `/catalog/resources`: list, read, create, change (deprecate), delete. */
export function registerCatalogEntryRoutes(app: FastifyInstance, deps: AdminDeps): void {
  for (const kind of KINDS) {
    const base = `/catalog/${kind.plural}`;
    const nameSchema = (kind.params as { properties: { name: unknown } }).properties.name;
    app.get(
      base,
      {
        schema: {
          tags: ['catalog'],
          summary: `List the active catalog's ${kind.plural}, a page at a time (name order; next_cursor for the next page)`,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              status: { type: 'string', enum: ['active', 'deprecated'] },
              name_prefix: { type: 'string', minLength: 1, maxLength: 200 },
              ...pageQueryProperties,
            },
          },
          response: {
            200: {
              type: 'object',
              properties: { items: { type: 'array', items: kind.schema }, next_cursor: nextCursorSchema },
            },
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          status?: 'active' | 'deprecated';
          name_prefix?: string;
          limit?: string;
          cursor?: string;
        };
        return listCatalogEntriesPage(
          deps.storage.db,
          kind.plural,
          { status: q.status, namePrefix: q.name_prefix },
          pageRequest(q, CATALOG_ENTRY_PAGE_KEY.length),
        );
      },
    );
    app.get(
      `${base}/:name`,
      { schema: { tags: ['catalog'], summary: `One ${kind.noun}`, params: kind.params } },
      async (request) => {
        const { name } = request.params as { name: string };
        const found = (await readCatalog(deps.storage.db))[kind.plural].find((e) => e.name === name);
        if (!found) throw notFound(`catalog ${kind.noun}`, name);
        return found;
      },
    );
    app.post(
      base,
      {
        schema: {
          tags: ['catalog'],
          summary: `Create ${kind.summary}`,
          querystring: stageQuery,
          body: {
            type: 'object',
            additionalProperties: false,
            required: kind.required,
            properties: { name: nameSchema, ...kind.fields },
          },
          response: { 201: kind.schema, 200: kind.schema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const body = request.body as Body & { name: string };
        const meta = editMeta(deps, request.actor, request.query as StageQuery);
        const view = await deps.storage.transaction((tx) => kind.create(tx, body, meta));
        if (meta.dryRun) return reply.code(200).send(view);
        return reply
          .code(201)
          .header('location', `/admin/v1${base}/${encodeURIComponent(body.name)}`)
          .send(view);
      },
    );
    app.patch(
      `${base}/:name`,
      {
        schema: {
          tags: ['catalog'],
          summary: `Change ${kind.noun} (status=deprecated deprecates it: still honoured, no new use)`,
          params: kind.params,
          querystring: stageQuery,
          body: { type: 'object', additionalProperties: false, minProperties: 1, properties: kind.fields },
          response: { 200: kind.schema, ...errorResponses },
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const meta = editMeta(deps, request.actor, request.query as StageQuery);
        return deps.storage.transaction((tx) => kind.update(tx, name, request.body as Body, meta));
      },
    );
    app.delete(
      `${base}/:name`,
      {
        schema: {
          tags: ['catalog'],
          summary: `Delete ${kind.noun}; refused while anything still uses it`,
          params: kind.params,
          querystring: stageQuery,
          response: {
            200: { type: 'object', properties: editedFields },
            204: { type: 'null' },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { name } = request.params as { name: string };
        const meta = editMeta(deps, request.actor, request.query as StageQuery);
        const result = await deps.storage.transaction((tx) => kind.remove(tx, name, meta));
        if (meta.dryRun || meta.stage === 'draft') return reply.code(200).send(result);
        return reply.code(204).send();
      },
    );
  }
}
