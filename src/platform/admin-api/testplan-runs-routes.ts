import type { FastifyInstance } from 'fastify';
import { getTestplanRun, liveOrganisations, revokeGoLive } from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { runListFilters, runListResponse, runSchema, runsPage } from '../partner-api/testplan-routes.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['test plan and go-live'];

/**
 * Issue 15, the operator's side of the go-live gate: every organisation's test-plan runs, which organisations
 * are live, and taking a go-live back (production applications stay; new ones need the gate again).
 */
export function registerTestplanRunRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/testplan-runs',
    {
      schema: {
        tags,
        summary: 'List test-plan runs of all organisations, a page at a time (newest first)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { org_id: uuidParam, ...runListFilters },
        },
        response: { 200: runListResponse, ...errorResponses },
      },
    },
    async (request) =>
      runsPage(deps.storage.db, (request.query as { org_id?: string }).org_id, request.query),
  );

  app.get(
    '/testplan-runs/:id',
    {
      schema: {
        tags,
        summary: 'Read one test-plan run with its cases',
        params: { type: 'object', required: ['id'], properties: { id: uuidParam } },
        response: { 200: runSchema, ...errorResponses },
      },
    },
    async (request) => getTestplanRun(deps.storage.db, (request.params as { id: string }).id),
  );

  app.get(
    '/go-live',
    {
      schema: {
        tags,
        summary: 'The organisations that passed the go-live gate, most recently live first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQueryProperties } },
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    live_at: { type: 'string' },
                    live_run_id: { type: ['string', 'null'] },
                  },
                },
              },
              next_cursor: nextCursorSchema,
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) =>
      liveOrganisations(
        deps.storage.db,
        pageRequest(request.query as { limit?: string; cursor?: string }, 2),
      ),
  );

  app.delete(
    '/organisations/:orgId/go-live',
    {
      schema: {
        tags,
        summary: 'Take an organisation’s go-live back (its production applications stay)',
        params: { type: 'object', required: ['orgId'], properties: { orgId: uuidParam } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: 500 } },
        },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params as { orgId: string };
      const { reason } = request.query as { reason?: string };
      await deps.storage.transaction((tx) =>
        revokeGoLive(tx, orgId, reason, { actor: request.actor, now: deps.clock() }),
      );
      return reply.code(204).send();
    },
  );
}
