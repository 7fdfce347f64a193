import type { FastifyInstance } from 'fastify';
import { accountStore } from '../../authorization-server/index.ts';
import { listOperatorAccountsPage } from '../../console/index.ts';
import { invalidInput } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { INACTIVE_CLIENT_PAGE_KEY_LENGTH } from '../inactive-clients.ts';
import {
  accessReviewSummary,
  expiringCertificatesAnswer,
  inactiveClientsAnswer,
  roleHoldersAnswer,
} from './access-review-pages.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
const tags = ['access-reviews'];
const nullableString = { type: ['string', 'null'] } as const;
const daysQuery = { type: 'string', pattern: '^[0-9]{1,4}$', description: 'days, 1 to 3650 (default 30)' };

function inRange(name: string, raw: string | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidInput(`${name} must be from ${min} to ${max}`, { field: name });
  }
  return n;
}

const pageOf = (item: object, extra: Record<string, object> = {}) => ({
  type: 'object',
  properties: {
    generated_at: { type: 'string' },
    ...extra,
    items: { type: 'array', items: item },
    next_cursor: nextCursorSchema,
  },
});

const holderSchema = {
  type: 'object',
  properties: {
    role: { type: 'string' },
    client_id: { type: 'string' },
    application: { type: 'string' },
    status: { type: 'string' },
    org_id: { type: 'string' },
    organisation: nullableString,
    environment: { type: 'string' },
    expires_at: nullableString,
    expired: { type: 'boolean' },
  },
} as const;

const operatorSchema = {
  type: 'object',
  properties: {
    account_id: { type: 'string' },
    username: nullableString,
    name: nullableString,
    account_status: nullableString,
    role: { type: 'string' },
    since: { type: 'string' },
  },
} as const;

const inactiveSchema = {
  type: 'object',
  properties: {
    client_id: { type: 'string' },
    application: { type: 'string' },
    org_id: { type: 'string' },
    organisation: nullableString,
    environment: { type: 'string' },
    created_at: { type: 'string' },
    last_seen_at: nullableString,
    last_allowed_at: nullableString,
    days_without_traffic: { type: 'integer' },
  },
} as const;

const expiringSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    id: { type: 'string' },
    not_after: { type: 'string' },
    days_left: { type: 'integer' },
    org_id: nullableString,
    client_id: nullableString,
    organisation: nullableString,
    label: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/**
 * Access reviews (issue 15), each section a keyset-paged list (issue 16) so a review costs the same at 100 and
 * at 100,000 applications: the summary counts role holders per role and operator accounts; the sections list
 * role holders, operator accounts, active clients that sent no traffic for N days (a client never seen counts
 * from its creation) and partner certificates ending within N days, a page at a time. With a list reader
 * (the embedded default on a file database) the summary and the three directory-sized sections are read in its
 * worker thread.
 */
export function registerAccessReviewRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { kek: string },
): void {
  app.get(
    '/access-reviews',
    {
      schema: {
        tags,
        summary:
          'Access review summary: holders per role, operator accounts (the lists are the sub-resources)',
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        response: {
          200: {
            type: 'object',
            properties: {
              generated_at: { type: 'string' },
              roles: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    role: { type: 'string' },
                    holders: { type: 'integer' },
                    expired: { type: 'integer' },
                  },
                },
              },
              operators: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      const now = deps.clock();
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'access-review-summary',
          filter: {},
          page: { limit: 1 },
          now: now.toISOString(),
        });
        return reply.type(JSON_TYPE).send(json);
      }
      return accessReviewSummary(deps.storage.db, now);
    },
  );

  app.get(
    '/access-reviews/role-holders',
    {
      schema: {
        tags,
        summary:
          'Applications holding roles (expired grants marked), by role then client_id, a page at a time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { role: { type: 'string', minLength: 1, maxLength: 100 }, ...pageQueryProperties },
        },
        response: { 200: pageOf(holderSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query as { role?: string; limit?: string; cursor?: string };
      const page = pageRequest(q, 2);
      const now = deps.clock();
      const filter = { role: q.role };
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'role-holders',
          filter,
          page,
          now: now.toISOString(),
        });
        return reply.type(JSON_TYPE).send(json);
      }
      return roleHoldersAnswer(deps.storage.db, filter, page, now);
    },
  );

  app.get(
    '/access-reviews/operators',
    {
      schema: {
        tags,
        summary: 'Console accounts with an operator role, oldest grant first, a page at a time',
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQueryProperties } },
        response: { 200: pageOf(operatorSchema), ...errorResponses },
      },
    },
    async (request) => {
      const now = deps.clock();
      const db = deps.storage.db;
      const page = await listOperatorAccountsPage(
        db,
        {},
        pageRequest(request.query as { limit?: string; cursor?: string }, 2),
      );
      const accounts = accountStore(db, options.kek);
      const found = await Promise.all(page.items.map((o) => accounts.find(o.accountId)));
      return {
        generated_at: now.toISOString(),
        items: page.items.map((o, i) => ({
          account_id: o.accountId,
          username: found[i]?.username ?? null,
          name: found[i]?.name ?? null,
          account_status: found[i]?.status ?? null,
          role: o.role,
          since: o.createdAt,
        })),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.get(
    '/access-reviews/inactive-clients',
    {
      schema: {
        tags,
        summary:
          'Active clients without traffic for N days (never seen: since creation), longest silent first, paged',
        description:
          'Ordered by when each client was last seen (or created, if never seen), then client_id. A page may hold fewer than `limit` items and still carry a next_cursor: one request reads a bounded number of rows.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { inactive_days: daysQuery, ...pageQueryProperties },
        },
        response: { 200: pageOf(inactiveSchema, { inactive_days: { type: 'integer' } }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query as { inactive_days?: string; limit?: string; cursor?: string };
      const inactiveDays = inRange('inactive_days', q.inactive_days, 1, 3650, 30);
      const page = pageRequest(q, INACTIVE_CLIENT_PAGE_KEY_LENGTH);
      // What the doors saw since the last batch counts too: write it first.
      await deps.decisionRecorder?.flush();
      const now = deps.clock();
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'inactive-clients',
          filter: { inactiveDays },
          page,
          now: now.toISOString(),
        });
        return reply.type(JSON_TYPE).send(json);
      }
      return inactiveClientsAnswer(deps.storage.db, inactiveDays, page, now);
    },
  );

  app.get(
    '/access-reviews/expiring-certificates',
    {
      schema: {
        tags,
        summary: 'Partner certificates ending within N days and not renewed, soonest first, a page at a time',
        description:
          'Active certificates of active applications of active organisations, ending after now and within N days, without a later-ending successor. A page may hold fewer than `limit` items and still carry a next_cursor.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { expiring_days: daysQuery, ...pageQueryProperties },
        },
        response: { 200: pageOf(expiringSchema, { expiring_days: { type: 'integer' } }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query as { expiring_days?: string; limit?: string; cursor?: string };
      const expiringDays = inRange('expiring_days', q.expiring_days, 1, 3650, 30);
      const page = pageRequest(q, 2);
      const now = deps.clock();
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'expiring-certificates',
          filter: { expiringDays },
          page,
          now: now.toISOString(),
        });
        return reply.type(JSON_TYPE).send(json);
      }
      return expiringCertificatesAnswer(deps.storage.db, expiringDays, page, now);
    },
  );
}
