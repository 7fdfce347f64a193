import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, type EventType, listMailOutboxPage, listPlatformEvents } from '../../audit/index.ts';
import { expiringView, listExpiringPage } from '../../pki/index.ts';
import { invalidInput } from '../../shared/app-error.ts';
import { EXPIRING_KINDS, type ExpiringSource } from '../../shared/expiring-item.ts';
import {
  decodeCursor,
  encodeCursor,
  invalidCursor,
  pageQueryProperties,
  pageRequest,
} from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['events'];

// Query strings stay strings (no coercion): digits by schema, the range here.
function inRange(name: string, raw: string | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (n < min || n > max) throw invalidInput(`${name} must be from ${min} to ${max}`, { field: name });
  return n;
}

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
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
            // Issue 16: the opaque cursor every list takes (next_cursor of a page; here a sequence number).
            cursor: pageQueryProperties.cursor,
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as {
        type?: EventType;
        org_id?: string;
        after?: string;
        limit?: string;
        cursor?: string;
      };
      const fromCursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor, 1)[0];
      if (fromCursor !== undefined && typeof fromCursor !== 'number') {
        throw invalidCursor('not a cursor of this list');
      }
      const after = fromCursor ?? Number(q.after ?? 0);
      const limit = inRange('limit', q.limit, 1, 1000, 100);
      const items = await listPlatformEvents(deps.storage, {
        after,
        limit,
        ...(q.type ? { type: q.type } : {}),
        ...(q.org_id ? { orgId: q.org_id } : {}),
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
        last_seq: items.at(-1)?.seq ?? after,
        next_cursor: items.length === limit ? encodeCursor([items.at(-1)?.seq ?? after]) : null,
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
            within_days: { type: 'string', pattern: '^[0-9]{1,4}$' },
            kind: { type: 'string', enum: [...EXPIRING_KINDS] },
            ...pageQueryProperties,
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as {
        within_days?: string;
        kind?: (typeof EXPIRING_KINDS)[number];
        limit?: string;
        cursor?: string;
      };
      const now = deps.clock();
      const withinDays = inRange('within_days', q.within_days, 1, 3650, 30);
      const page = await listExpiringPage(
        deps.storage.db,
        now,
        withinDays,
        options.keySources,
        pageRequest(q, 2),
        q.kind,
      );
      return {
        within_days: withinDays,
        items: page.items.map((i) => expiringView(i, now)),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.get(
    '/notifications/mail',
    {
      schema: {
        tags,
        summary:
          'Notification mail in the outbox, newest first: status, attempts, last error (never the body)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['pending', 'sending', 'sent', 'failed'] },
            event_id: { type: 'string', minLength: 1, maxLength: 64 },
            ...pageQueryProperties,
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as {
        status?: 'pending' | 'sending' | 'sent' | 'failed';
        event_id?: string;
        limit?: string;
        cursor?: string;
      };
      return listMailOutboxPage(
        deps.storage.db,
        { ...(q.status ? { status: q.status } : {}), ...(q.event_id ? { eventId: q.event_id } : {}) },
        pageRequest(q, 2),
      );
    },
  );
}
