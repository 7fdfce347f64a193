import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, type EventType, listPlatformEvents } from '../../audit/index.ts';
import { expiringView, listExpiring } from '../../pki/index.ts';
import { EXPIRING_KINDS, type ExpiringSource } from '../../shared/expiring-item.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['events'];

/**
 * What operators see of platform events: the event log (`GET /events`, after a seq, newest last) and what is
 * expiring now across certificates and keys (`GET /expiring`).
 */
export function registerEventRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { keySources: readonly ExpiringSource[] },
): void {
  app.get(
    '/events',
    {
      schema: {
        tags,
        summary: 'List platform events in order (follow with after = the last seq seen)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: [...EVENT_TYPES] },
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as { type?: EventType; org_id?: string; after?: number; limit?: number };
      const items = await listPlatformEvents(deps.storage, {
        ...(q.type ? { type: q.type } : {}),
        ...(q.org_id ? { orgId: q.org_id } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
      return {
        items: items.map((e) => ({
          seq: e.seq,
          id: e.id,
          type: e.type,
          occurred_at: e.occurredAt,
          org_id: e.orgId,
          client_id: e.clientId,
          subject: e.subject,
          data: e.data,
        })),
        last_seq: items.at(-1)?.seq ?? q.after ?? 0,
      };
    },
  );

  app.get(
    '/expiring',
    {
      schema: {
        tags,
        summary:
          'What expires (certificates) or is due for rotation (signing keys) within N days, soonest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            within_days: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
            kind: { type: 'string', enum: [...EXPIRING_KINDS] },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as { within_days?: number; kind?: (typeof EXPIRING_KINDS)[number] };
      const now = deps.clock();
      const withinDays = q.within_days ?? 30;
      const items = await listExpiring(deps.storage.db, now, withinDays, options.keySources);
      return {
        within_days: withinDays,
        items: items.filter((i) => !q.kind || i.kind === q.kind).map((i) => expiringView(i, now)),
      };
    },
  );
}
