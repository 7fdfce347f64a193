import type { FastifyInstance } from 'fastify';
import {
  createDraft,
  discardDraft,
  importCatalog,
  listCatalogRevisionsPage,
  MAX_OPENAPI_BYTES,
  prepareImport,
  promoteDraft,
  readDraft,
} from '../../directory/index.ts';
import { pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { editMeta } from './catalog-routes.ts';
import { type StageQuery, stageQuery } from './catalog-schemas.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const dryRunQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { dry_run: { type: 'string', enum: ['true', 'false'] } },
} as const;

/**
 * Staging: a draft is a whole catalog taken from the active one, edited with `?stage=draft`, reviewed here
 * (its diff against the active catalog and every finding) and promoted in one change partners feel at once.
 */
export function registerCatalogDraftRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/catalog/draft',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The staged catalog: its document, its diff against the active one and its findings',
        response: { ...errorResponses },
      },
    },
    async () => deps.storage.transaction((tx) => readDraft(tx, deps.clock())),
  );
  app.post(
    '/catalog/draft',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Start a draft from the active catalog (409 if one exists)',
        response: { 201: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const view = await deps.storage.transaction((tx) =>
        createDraft(tx, { actor: request.actor, now: deps.clock() }),
      );
      return reply.code(201).header('location', '/admin/v1/catalog/draft').send(view);
    },
  );
  app.delete(
    '/catalog/draft',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Discard the draft',
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deps.storage.transaction((tx) => discardDraft(tx, { actor: request.actor, now: deps.clock() }));
      return reply.code(204).send();
    },
  );
  app.post(
    '/catalog/draft/promote',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Make the draft the active catalog (409 catalog_draft_stale if the active one changed since); ?dry_run=true shows the diff',
        querystring: dryRunQuery,
        response: { ...errorResponses },
      },
    },
    async (request) => {
      const dryRun = (request.query as { dry_run?: string }).dry_run === 'true';
      const result = await deps.storage.transaction((tx) =>
        promoteDraft(tx, { actor: request.actor, now: deps.clock(), dryRun }),
      );
      return {
        revision: result.revision,
        applied: result.applied,
        diff: result.diff,
        warnings: result.findings,
      };
    },
  );
  app.post(
    '/catalog/import',
    {
      // The document travels as a JSON string: escapes may double its size on the wire.
      bodyLimit: 2 * MAX_OPENAPI_BYTES + 64 * 1024,
      schema: {
        tags: ['catalog'],
        summary:
          'Import an OpenAPI 3.0/3.1 document (JSON or YAML text): ?dry_run=true shows the diff, ?stage=draft stages it',
        querystring: stageQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['document'],
          properties: {
            document: { type: 'string', minLength: 1, maxLength: MAX_OPENAPI_BYTES },
            source: { type: 'string', minLength: 1, maxLength: 64 },
            base_path: { type: 'string', maxLength: 256 },
            public_operations: {
              type: 'array',
              maxItems: 500,
              items: { type: 'string', minLength: 1, maxLength: 600 },
            },
          },
        },
        response: { ...errorResponses },
      },
    },
    async (request) => {
      const body = request.body as {
        document: string;
        source?: string;
        base_path?: string;
        public_operations?: string[];
      };
      const prepared = await prepareImport({
        document: body.document,
        ...(body.source !== undefined ? { source: body.source } : {}),
        ...(body.base_path !== undefined ? { basePath: body.base_path } : {}),
        ...(body.public_operations !== undefined ? { publicOperations: body.public_operations } : {}),
      });
      const meta = editMeta(deps, request.actor, request.query as StageQuery);
      const result = await deps.storage.transaction((tx) => importCatalog(tx, prepared, meta));
      return {
        source: result.source,
        stage: result.stage,
        applied: result.applied,
        revision: result.revision,
        diff: result.diff,
        warnings: result.warnings,
      };
    },
  );
  app.get(
    '/catalog/revisions',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The catalogs that became active, a page at a time (newest first; no documents)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            source: { type: 'string', minLength: 1, maxLength: 100 },
            actor: { type: 'string', minLength: 1, maxLength: 300 },
            ...pageQueryProperties,
          },
        },
      },
    },
    async (request) => {
      const q = request.query as { source?: string; actor?: string; limit?: string; cursor?: string };
      return listCatalogRevisionsPage(
        deps.storage.db,
        { source: q.source, actor: q.actor },
        pageRequest(q, 1),
      );
    },
  );
}
