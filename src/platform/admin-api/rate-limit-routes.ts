import type { FastifyInstance } from 'fastify';
import {
  getRateLimit,
  listRateLimitsPage,
  RATE_LIMIT_PAGE_KEY,
  type RateLimitSubject,
  removeRateLimit,
  setRateLimit,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { RATE_LIMIT_POLICY_SCHEMA, RATE_LIMIT_RULES_SCHEMA } from '../../shared/rate-limit/index.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['rate-limits'];

const limitsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['limits'],
  properties: {
    limits: {
      ...RATE_LIMIT_RULES_SCHEMA,
      description:
        'replaces the catalog’s limits of this kind for this subject: at most `quota` requests per `window` seconds each; [] = not limited',
    },
  },
} as const;

const viewSchema = {
  type: 'object',
  properties: {
    subject_kind: { type: 'string', enum: ['catalog', 'organisation', 'application'] },
    subject_id: { type: 'string' },
    policy: {
      description:
        'catalog: { client?, organisation? }; organisation / application: [{ quota, window }]; null: none set (the catalog’s limits apply)',
    },
    updated_at: { type: ['string', 'null'] },
  },
} as const;

/**
 * Rate limits (issue 16): per organisation, per application (override the catalog's) and the catalog-wide
 * default. Every change is audited and reaches every door through the change feed before its next request.
 */
export function registerRateLimitRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.get(
    '/rate-limits',
    {
      schema: {
        tags,
        summary: 'Every rate limit set (catalog, organisations, applications), a page at a time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            subject_kind: { type: 'string', enum: ['catalog', 'organisation', 'application'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: viewSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as { subject_kind?: RateLimitSubject; limit?: string; cursor?: string };
      return listRateLimitsPage(
        deps.storage.db,
        { kind: q.subject_kind },
        pageRequest(q, RATE_LIMIT_PAGE_KEY.length),
      );
    },
  );

  function routes(
    path: string,
    kind: RateLimitSubject,
    param: string | undefined,
    body: object,
    what: string,
  ): void {
    const params =
      param === undefined
        ? undefined
        : {
            type: 'object',
            required: [param],
            properties: { [param]: { type: 'string', minLength: 1, maxLength: 255 } },
          };
    const idOf = (request: { params: unknown }) =>
      param === undefined ? '*' : ((request.params as Record<string, string>)[param] as string);
    app.get(
      path,
      {
        schema: {
          tags,
          summary: `The rate limit of ${what} (policy null: none set)`,
          ...(params ? { params } : {}),
          response: { 200: viewSchema, ...errorResponses },
        },
      },
      async (request) => {
        const id = idOf(request);
        const found = await getRateLimit(deps.storage.db, kind, id);
        return found ?? { subject_kind: kind, subject_id: id, policy: null, updated_at: null };
      },
    );
    app.put(
      path,
      {
        schema: {
          tags,
          summary: `Set the rate limit of ${what}; every door applies it before its next request`,
          ...(params ? { params } : {}),
          body,
          response: { 200: viewSchema, ...errorResponses },
        },
      },
      async (request) => {
        const given = request.body as { limits?: unknown };
        const policy = kind === 'catalog' ? given : given.limits;
        return deps.storage.transaction((tx) =>
          setRateLimit(tx, kind, idOf(request), policy, meta(request.actor)),
        );
      },
    );
    app.delete(
      path,
      {
        schema: {
          tags,
          summary: `Remove the rate limit of ${what} (the catalog’s apply again)`,
          ...(params ? { params } : {}),
          response: { 204: { type: 'null' }, ...errorResponses },
        },
      },
      async (request, reply) => {
        await deps.storage.transaction((tx) => removeRateLimit(tx, kind, idOf(request), meta(request.actor)));
        return reply.code(204).send();
      },
    );
  }

  routes(
    '/organisations/:id/rate-limit',
    'organisation',
    'id',
    limitsBody,
    'an organisation (all its applications together)',
  );
  routes('/applications/:clientId/rate-limit', 'application', 'clientId', limitsBody, 'an application');
  routes(
    '/catalog/rate-limit',
    'catalog',
    undefined,
    {
      ...RATE_LIMIT_POLICY_SCHEMA,
      description: 'the default of every operation without its own rate_limit',
    },
    'the whole catalog (the default of every operation)',
  );
}
