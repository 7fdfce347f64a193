import type { FastifyInstance } from 'fastify';
import {
  createWebhookSubscription,
  DELIVERY_PAGE_KEY_LENGTH,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  EVENT_TYPES,
  getDelivery,
  getWebhookSubscription,
  listDeliveriesPage,
  listWebhookSubscriptionsPage,
  PING_EVENT_TYPE,
  queuePing,
  ROTATION_OVERLAP,
  redeliver,
  removeWebhookSubscription,
  rotateWebhookSecret,
  updateWebhookSubscription,
  WEBHOOK_SCHEMES,
  WEBHOOK_SUBSCRIPTION_PAGE_KEY_LENGTH,
} from '../../audit/index.ts';
import { requireOrganisation } from '../../directory/index.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['webhooks'];
const BASE = '/webhooks';

const eventTypesSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 64,
  items: { type: 'string', enum: [...EVENT_TYPES, '*'] },
  description: 'event types delivered, or ["*"] for all',
} as const;

const subscriptionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    event_types: { type: 'array', items: { type: 'string' } },
    org_id: { type: ['string', 'null'] },
    scheme: { type: 'string', enum: [...WEBHOOK_SCHEMES] },
    description: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['active', 'disabled'] },
    previous_secret_until: { type: ['string', 'null'] },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const withSecret = {
  ...subscriptionSchema,
  properties: {
    ...subscriptionSchema.properties,
    secret: { type: 'string', description: 'standard-webhooks: the signing secret, shown only here' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subscription_id: { type: 'string' },
    event_id: { type: 'string' },
    event_type: { type: 'string' },
    status: { type: 'string', enum: [...DELIVERY_STATUSES] },
    attempts: { type: 'integer' },
    next_attempt_at: { type: ['string', 'null'] },
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    delivered_at: { type: ['string', 'null'] },
  },
} as const;

const deliveryDetailSchema = {
  ...deliverySchema,
  properties: {
    ...deliverySchema.properties,
    payload: { type: 'object', additionalProperties: true },
    attempt_log: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer' },
          started_at: { type: 'string' },
          duration_ms: { type: 'integer' },
          status_code: { type: ['integer', 'null'] },
          error: { type: ['string', 'null'] },
          response_excerpt: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

const deliveryFilterProperties = {
  event_type: {
    type: 'string',
    enum: [...EVENT_TYPES, PING_EVENT_TYPE],
    description: 'only this event type',
  },
  since: { type: 'string', format: 'date-time', description: 'only deliveries created at or after' },
  before: { type: 'string', format: 'date-time', description: 'only deliveries created before' },
  ...pageQueryProperties,
} as const;

const deliveryQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...DELIVERY_STATUSES] },
    ...deliveryFilterProperties,
  },
} as const;

const deliveryPageSchema = {
  type: 'object',
  properties: { items: { type: 'array', items: deliverySchema }, next_cursor: nextCursorSchema },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;
const deliveryParams = {
  type: 'object',
  required: ['id', 'delivery'],
  properties: { id: uuidParam, delivery: uuidParam },
} as const;

interface DeliveryQueryString {
  status?: DeliveryStatus;
  event_type?: string;
  since?: string;
  before?: string;
  limit?: string;
  cursor?: string;
}

/** Stored times are UTC ISO 8601 (toISOString): a filter instant is compared in that form. */
const instant = (value: string | undefined) =>
  value === undefined ? undefined : new Date(value).toISOString();

const deliveryFilter = (q: DeliveryQueryString) => ({
  status: q.status,
  eventType: q.event_type,
  since: instant(q.since),
  before: instant(q.before),
});

/** Webhook subscriptions, their delivery log and dead letters; thin: the rules are in src/audit/webhooks. */
export function registerWebhookRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { kek: string; urlGuard: UrlGuard; wake(): void },
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    BASE,
    {
      schema: {
        tags,
        summary: 'Subscribe a receiver to platform events',
        description:
          'https only; loopback, private and link-local receivers are refused unless webhooks.allowPrivateAddresses. A standard-webhooks secret is returned only here.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'event_types', 'scheme'],
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            event_types: eventTypesSchema,
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            scheme: { type: 'string', enum: [...WEBHOOK_SCHEMES] },
            description: { type: 'string', maxLength: 500 },
          },
        },
        response: { 201: withSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        url: string;
        event_types: string[];
        org_id?: string;
        scheme: string;
        description?: string;
      };
      if (body.org_id !== undefined) await requireOrganisation(deps.storage.db, body.org_id);
      const created = await deps.storage.transaction((tx) =>
        createWebhookSubscription(tx, body, {
          ...meta(request.actor),
          kek: options.kek,
          urlGuard: options.urlGuard,
        }),
      );
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );
  app.get(
    BASE,
    {
      schema: {
        tags,
        summary: 'List webhook subscriptions, oldest first (never their secrets)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org_id: { type: 'string', maxLength: 64 },
            status: { type: 'string', enum: ['active', 'disabled'] },
            event_type: {
              type: 'string',
              enum: [...EVENT_TYPES],
              description: 'subscriptions receiving this event type (named, or all types)',
            },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: subscriptionSchema },
              next_cursor: nextCursorSchema,
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        org_id?: string;
        status?: 'active' | 'disabled';
        event_type?: string;
        limit?: string;
        cursor?: string;
      };
      return listWebhookSubscriptionsPage(
        deps.storage.db,
        deps.clock(),
        { orgId: q.org_id, status: q.status, eventType: q.event_type },
        pageRequest(q, WEBHOOK_SUBSCRIPTION_PAGE_KEY_LENGTH),
      );
    },
  );
  app.get(
    `${BASE}/dead-letter`,
    {
      schema: {
        tags,
        summary: 'Dead deliveries of every subscription, newest first (redeliver them one by one)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            subscription_id: uuidParam,
            ...deliveryFilterProperties,
          },
        },
        response: { 200: deliveryPageSchema, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as DeliveryQueryString & { subscription_id?: string };
      return listDeliveriesPage(
        deps.storage.db,
        { ...deliveryFilter(q), subscriptionId: q.subscription_id, status: 'dead' },
        pageRequest(q, DELIVERY_PAGE_KEY_LENGTH),
      );
    },
  );
  app.get(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Show a webhook subscription',
        params: idParams,
        response: { 200: subscriptionSchema, ...errorResponses },
      },
    },
    async (request) =>
      getWebhookSubscription(deps.storage.db, (request.params as { id: string }).id, deps.clock()),
  );
  app.patch(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Change a subscription: its URL, event types, description, or enable / disable it',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            event_types: eventTypesSchema,
            description: { type: ['string', 'null'], maxLength: 500 },
            enabled: { type: 'boolean' },
          },
        },
        response: { 200: subscriptionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const updated = await deps.storage.transaction((tx) =>
        updateWebhookSubscription(tx, id, request.body as Record<string, never>, {
          ...meta(request.actor),
          urlGuard: options.urlGuard,
        }),
      );
      if (updated.status === 'active') options.wake();
      return updated;
    },
  );
  app.delete(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Remove a subscription; its pending deliveries are cancelled (the log stays)',
        params: idParams,
        response: { 200: subscriptionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return deps.storage.transaction((tx) => removeWebhookSubscription(tx, id, meta(request.actor)));
    },
  );
  app.post(
    `${BASE}/:id/rotate-secret`,
    {
      schema: {
        tags,
        summary: 'New standard-webhooks secret (shown once); the previous one keeps signing for the overlap',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            overlap_seconds: {
              type: 'integer',
              minimum: ROTATION_OVERLAP.min,
              maximum: ROTATION_OVERLAP.max,
            },
          },
        },
        response: { 200: withSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const overlap =
        (request.body as { overlap_seconds?: number } | null)?.overlap_seconds ?? ROTATION_OVERLAP.default;
      const rotated = await deps.storage.transaction((tx) =>
        rotateWebhookSecret(tx, id, overlap, { ...meta(request.actor), kek: options.kek }),
      );
      return reply.header('cache-control', 'no-store').send(rotated);
    },
  );
  app.post(
    `${BASE}/:id/test`,
    {
      schema: {
        tags,
        summary: 'Send a webhook.ping event to this subscription now',
        params: idParams,
        response: { 202: deliverySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const queued = await deps.storage.transaction((tx) => queuePing(tx, id, meta(request.actor)));
      options.wake();
      return reply.code(202).send(queued);
    },
  );
  app.get(
    `${BASE}/:id/deliveries`,
    {
      schema: {
        tags,
        summary: 'The delivery log of a subscription, newest first (?status=dead: its dead letters)',
        params: idParams,
        querystring: deliveryQuery,
        response: { 200: deliveryPageSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as DeliveryQueryString;
      const page = pageRequest(q, DELIVERY_PAGE_KEY_LENGTH);
      await getWebhookSubscription(deps.storage.db, id, deps.clock());
      return listDeliveriesPage(deps.storage.db, { ...deliveryFilter(q), subscriptionId: id }, page);
    },
  );
  app.get(
    `${BASE}/:id/deliveries/:delivery`,
    {
      schema: {
        tags,
        summary: 'One delivery: the payload sent and every attempt (status, duration, error)',
        params: deliveryParams,
        response: { 200: deliveryDetailSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id, delivery } = request.params as { id: string; delivery: string };
      return getDelivery(deps.storage.db, id, delivery);
    },
  );
  app.post(
    `${BASE}/:id/deliveries/:delivery/redeliver`,
    {
      schema: {
        tags,
        summary: 'Send a dead (or delivered) delivery again, same payload and webhook-id, fresh retry window',
        params: deliveryParams,
        response: { 202: deliverySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, delivery } = request.params as { id: string; delivery: string };
      const queued = await deps.storage.transaction((tx) => redeliver(tx, id, delivery, meta(request.actor)));
      options.wake();
      return reply.code(202).send(queued);
    },
  );
}
