import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Storage, type Tx } from '../../storage/index.ts';
import type { PlatformEvent } from '../events/index.ts';
import { recordAuditEvent } from '../record-audit-event.ts';
import { nextAttemptAt, type RetryPolicy } from './retry-policy.ts';
import type { WebhookMeta } from './subscriptions.ts';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The event type of the ping `POST /admin/v1/webhooks/{id}/test` sends; never a platform event. */
export const PING_EVENT_TYPE = 'webhook.ping';

/** What a receiver gets (the JSON body; in the JWS scheme, the claims of the signed body). */
export interface WebhookPayload {
  id: string;
  type: string;
  occurred_at: string;
  org_id: string | null;
  client_id: string | null;
  subject: Record<string, unknown>;
  data: Record<string, unknown>;
}

export interface DeliveryView {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  /** Pending only: when the next attempt is due. */
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface AttemptView {
  attempt: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

type DeliveryRow = Database['webhook_deliveries'];

export function payloadOf(event: PlatformEvent): WebhookPayload {
  return {
    id: event.id,
    type: event.type,
    occurred_at: event.occurredAt,
    org_id: event.orgId,
    client_id: event.clientId,
    subject: event.subject,
    data: event.data,
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    subscription_id: row.subscription_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: Number(row.attempts),
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at : null,
    last_status_code: row.last_status_code === null ? null : Number(row.last_status_code),
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
    delivered_at: row.delivered_at,
  };
}

/** Does a subscription want this event: its type (or `*`), and its organisation when it is scoped to one. */
export function subscriptionMatches(
  sub: { event_types: readonly string[]; org_id: string | null },
  event: Pick<PlatformEvent, 'type' | 'orgId'>,
): boolean {
  if (sub.org_id !== null && event.orgId !== sub.org_id) return false;
  return sub.event_types.includes('*') || sub.event_types.includes(event.type);
}

function newDelivery(subscriptionId: string, payload: WebhookPayload, now: Date): DeliveryRow {
  const at = now.toISOString();
  return {
    id: randomUUID(),
    subscription_id: subscriptionId,
    event_id: payload.id,
    event_type: payload.type,
    payload: JSON.stringify(payload),
    status: 'pending',
    attempts: 0,
    next_attempt_at: at,
    claim_token: null,
    window_started_at: at,
    last_status_code: null,
    last_error: null,
    created_at: at,
    updated_at: at,
    delivered_at: null,
  };
}

/**
 * The webhook consumer's handler: one pending delivery per (event, matching active subscription), written in
 * the transaction that moves the consumer's cursor, so an event is queued exactly once even across a crash.
 */
export async function enqueueDeliveries(tx: Tx, events: PlatformEvent[], now: Date): Promise<number> {
  const subs = (
    await tx.db
      .selectFrom('webhook_subscriptions')
      .select(['id', 'event_types', 'org_id'])
      .where('status', '=', 'active')
      .execute()
  ).map((s) => ({ ...s, event_types: JSON.parse(s.event_types) as string[] }));
  if (subs.length === 0) return 0;
  let queued = 0;
  for (const event of events) {
    for (const sub of subs) {
      if (!subscriptionMatches(sub, event)) continue;
      await tx.db
        .insertInto('webhook_deliveries')
        .values(newDelivery(sub.id, payloadOf(event), now))
        .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
        .execute();
      queued++;
    }
  }
  return queued;
}

/** A delivery this process holds until `leaseUntil`, with what it needs to sign and send it. */
export interface ClaimedDelivery {
  id: string;
  claimToken: string;
  attempt: number;
  eventId: string;
  payload: string;
  windowStartedAt: string;
  subscription: {
    id: string;
    url: string;
    scheme: 'jws' | 'standard-webhooks';
    secret_enc: string | null;
    previous_secret_enc: string | null;
    previous_secret_until: string | null;
  };
}

/**
 * Claims up to `limit` due deliveries of active subscriptions: each gets a fresh claim token, its attempt
 * count goes up, and it is due again at `now + leaseMs` should this process die mid-send (at-least-once).
 * PostgreSQL: `FOR UPDATE SKIP LOCKED`, so nodes claiming at once never take the same row; SQLite: the
 * transaction holds the single write lock.
 */
export async function claimDueDeliveries(
  storage: Storage,
  now: Date,
  options: { limit: number; leaseMs: number },
): Promise<ClaimedDelivery[]> {
  return storage.transaction(async (tx) => {
    const at = now.toISOString();
    let q = tx.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'attempts', 'event_id', 'payload', 'window_started_at', 'subscription_id'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', at)
      .where('subscription_id', 'in', (eb) =>
        eb.selectFrom('webhook_subscriptions').select('id').where('status', '=', 'active'),
      )
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(options.limit);
    if (tx.engine === 'postgres') q = q.forUpdate().skipLocked();
    const rows = await q.execute();
    if (rows.length === 0) return [];
    const subs = await tx.db
      .selectFrom('webhook_subscriptions')
      .select(['id', 'url', 'scheme', 'secret_enc', 'previous_secret_enc', 'previous_secret_until'])
      .where('id', 'in', [...new Set(rows.map((r) => r.subscription_id))])
      .execute();
    const byId = new Map(subs.map((s) => [s.id, s]));
    const leaseUntil = new Date(now.getTime() + options.leaseMs).toISOString();
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const subscription = byId.get(row.subscription_id);
      if (!subscription) continue;
      const claimToken = randomUUID();
      const attempt = Number(row.attempts) + 1;
      await tx.db
        .updateTable('webhook_deliveries')
        .set({ claim_token: claimToken, attempts: attempt, next_attempt_at: leaseUntil, updated_at: at })
        .where('id', '=', row.id)
        .execute();
      claimed.push({
        id: row.id,
        claimToken,
        attempt,
        eventId: row.event_id,
        payload: row.payload,
        windowStartedAt: row.window_started_at,
        subscription,
      });
    }
    return claimed;
  });
}

export interface AttemptOutcome {
  startedAt: Date;
  durationMs: number;
  /** The receiver's status, when it answered. */
  status?: number | undefined;
  /** Why no answer counted (a stable code and message; never a secret). */
  error?: string | undefined;
  excerpt?: string | undefined;
  /** The receiver's Retry-After, in seconds. */
  retryAfterSeconds?: number | undefined;
}

const MAX_ERROR = 300;

/**
 * Records an attempt and settles the delivery: a 2xx delivers it; anything else schedules the next attempt
 * by the retry policy, or makes it dead. A claim that lapsed meanwhile (another node re-sent it, or an
 * operator cancelled or redelivered it) changes nothing but the log. Returns the delivery's new status.
 */
export async function settleAttempt(
  storage: Storage,
  claim: Pick<ClaimedDelivery, 'id' | 'claimToken' | 'attempt' | 'windowStartedAt'>,
  outcome: AttemptOutcome,
  now: Date,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Promise<DeliveryStatus | 'lapsed'> {
  const [status] = await settleAttempts(storage, [{ claim, outcome }], now, policy, random);
  return status!;
}

/** A receiver answered 410 Gone: its subscription is disabled (held, not removed), and the audit log says why. */
async function disableGoneSubscription(tx: Tx, deliveryId: string, now: Date): Promise<void> {
  const row = await tx.db
    .selectFrom('webhook_deliveries')
    .select('subscription_id')
    .where('id', '=', deliveryId)
    .executeTakeFirstOrThrow();
  const changed = await tx.db
    .updateTable('webhook_subscriptions')
    .set({ status: 'disabled', updated_at: now.toISOString() })
    .where('id', '=', row.subscription_id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) === 0) return;
  await recordAuditEvent(
    tx,
    {
      actor: 'system:webhooks',
      action: 'webhook.disable',
      targetType: 'webhook_subscription',
      targetId: row.subscription_id,
      details: { reason: 'receiver answered 410 Gone', delivery_id: deliveryId },
    },
    now,
  );
}

/** `settleAttempt` for a round of attempts, in one transaction; statuses in the same order. */
export async function settleAttempts(
  storage: Storage,
  attempts: ReadonlyArray<{
    claim: Pick<ClaimedDelivery, 'id' | 'claimToken' | 'attempt' | 'windowStartedAt'>;
    outcome: AttemptOutcome;
  }>,
  now: Date,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Promise<Array<DeliveryStatus | 'lapsed'>> {
  if (attempts.length === 0) return [];
  const at = now.toISOString();
  return storage.transaction(async (tx) => {
    const statuses: Array<DeliveryStatus | 'lapsed'> = [];
    for (const { claim, outcome } of attempts) {
      const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
      const error =
        outcome.error?.slice(0, MAX_ERROR) ??
        (ok || outcome.status === undefined ? null : `receiver answered HTTP ${outcome.status}`);
      await tx.db
        .insertInto('webhook_attempts')
        .values({
          id: randomUUID(),
          delivery_id: claim.id,
          attempt: claim.attempt,
          started_at: outcome.startedAt.toISOString(),
          duration_ms: Math.max(0, Math.round(outcome.durationMs)),
          status_code: outcome.status ?? null,
          error,
          response_excerpt: outcome.excerpt ? outcome.excerpt.slice(0, 256) : null,
        })
        .execute();
      // 410 Gone: the receiver says the endpoint is no more (Standard Webhooks: stop sending to it).
      const gone = outcome.status === 410;
      const next =
        ok || gone
          ? undefined
          : nextAttemptAt(
              policy,
              claim.attempt,
              now,
              new Date(claim.windowStartedAt),
              random,
              outcome.retryAfterSeconds,
            );
      const status: DeliveryStatus = ok ? 'delivered' : next ? 'pending' : 'dead';
      const result = await tx.db
        .updateTable('webhook_deliveries')
        .set({
          status,
          claim_token: null,
          last_status_code: outcome.status ?? null,
          last_error: error,
          updated_at: at,
          ...(ok ? { delivered_at: at } : {}),
          ...(next ? { next_attempt_at: next.toISOString() } : {}),
        })
        .where('id', '=', claim.id)
        .where('claim_token', '=', claim.claimToken)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      const settled = Number(result.numUpdatedRows) > 0;
      if (settled && gone) await disableGoneSubscription(tx, claim.id, now);
      statuses.push(settled ? status : 'lapsed');
    }
    return statuses;
  });
}

export interface DeliveryQuery {
  subscriptionId?: string | undefined;
  status?: string | undefined;
  limit?: number | undefined;
  /** Newest first; the next page is the entries created before this timestamp. */
  before?: string | undefined;
}

export async function listDeliveries(db: Kysely<Database>, query: DeliveryQuery): Promise<DeliveryView[]> {
  if (query.status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(query.status)) {
    throw invalidInput(`status: one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status' });
  }
  let q = db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(query.limit ?? 50, 1), 500));
  if (query.subscriptionId !== undefined) q = q.where('subscription_id', '=', query.subscriptionId);
  if (query.status !== undefined) q = q.where('status', '=', query.status as DeliveryStatus);
  if (query.before !== undefined) q = q.where('created_at', '<', query.before);
  return (await q.execute()).map(deliveryView);
}

/** Delivery pages: newest first by (created_at, id). */
export const DELIVERY_PAGE_KEY_LENGTH = 2;

export interface DeliveryFilter {
  subscriptionId?: string | undefined;
  status?: DeliveryStatus | undefined;
  eventType?: string | undefined;
  /** Only the entries created before this instant (ISO 8601). */
  before?: string | undefined;
  /** Only the entries created at or after this instant (ISO 8601). */
  since?: string | undefined;
}

/** One page of the delivery log, keyset-paged newest first by (created_at, id) after `page.after`. */
export async function listDeliveriesPage(
  db: Kysely<Database>,
  filter: DeliveryFilter,
  page: PageRequest,
): Promise<Page<DeliveryView>> {
  let q = db.selectFrom('webhook_deliveries').selectAll();
  if (filter.subscriptionId !== undefined) q = q.where('subscription_id', '=', filter.subscriptionId);
  if (filter.status !== undefined) q = q.where('status', '=', filter.status);
  if (filter.eventType !== undefined) q = q.where('event_type', '=', filter.eventType);
  if (filter.before !== undefined) q = q.where('created_at', '<', filter.before);
  if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
  return { items: paged.items.map(deliveryView), next_cursor: paged.next_cursor };
}

export async function getDelivery(
  db: Kysely<Database>,
  subscriptionId: string,
  id: string,
): Promise<DeliveryView & { payload: WebhookPayload; attempt_log: AttemptView[] }> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', id)
    .where('subscription_id', '=', subscriptionId)
    .executeTakeFirst();
  if (!row) throw notFound('webhook delivery', id);
  const attempts = await db
    .selectFrom('webhook_attempts')
    .select(['attempt', 'started_at', 'duration_ms', 'status_code', 'error', 'response_excerpt'])
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .orderBy('started_at')
    .execute();
  return {
    ...deliveryView(row),
    payload: JSON.parse(row.payload) as WebhookPayload,
    attempt_log: attempts.map((a) => ({
      ...a,
      attempt: Number(a.attempt),
      duration_ms: Number(a.duration_ms),
      status_code: a.status_code === null ? null : Number(a.status_code),
    })),
  };
}

async function activeSubscription(tx: Tx, id: string) {
  const sub = await tx.db
    .selectFrom('webhook_subscriptions')
    .select(['id', 'org_id', 'status'])
    .where('id', '=', id)
    .where('status', '!=', 'removed')
    .executeTakeFirst();
  if (!sub) throw notFound('webhook subscription', id);
  if (sub.status !== 'active') throw new AppError('conflict', 409, `webhook subscription ${id} is disabled`);
  return sub;
}

/**
 * Sends a dead (or delivered, or cancelled) delivery again: a fresh retry window, the same payload and
 * `webhook-id`, so a receiver that already has it recognises it.
 */
export async function redeliver(
  tx: Tx,
  subscriptionId: string,
  id: string,
  meta: WebhookMeta,
): Promise<DeliveryView> {
  await activeSubscription(tx, subscriptionId);
  const row = await tx.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', id)
    .where('subscription_id', '=', subscriptionId)
    .executeTakeFirst();
  if (!row) throw notFound('webhook delivery', id);
  if (row.status === 'pending') throw new AppError('conflict', 409, `delivery ${id} is already pending`);
  const at = meta.now.toISOString();
  const next: DeliveryRow = {
    ...row,
    status: 'pending',
    attempts: 0,
    next_attempt_at: at,
    window_started_at: at,
    claim_token: null,
    updated_at: at,
  };
  await tx.db
    .updateTable('webhook_deliveries')
    .set({
      status: next.status,
      attempts: 0,
      next_attempt_at: at,
      window_started_at: at,
      claim_token: null,
      updated_at: at,
    })
    .where('id', '=', id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'webhook.redeliver',
      targetType: 'webhook_delivery',
      targetId: id,
      details: { subscription_id: subscriptionId, event_id: row.event_id, was: row.status },
    },
    meta.now,
  );
  return deliveryView(next);
}

/** Queues a `webhook.ping` to one subscription, whatever its filters: a receiver's set-up check. */
export async function queuePing(tx: Tx, subscriptionId: string, meta: WebhookMeta): Promise<DeliveryView> {
  const sub = await activeSubscription(tx, subscriptionId);
  const payload: WebhookPayload = {
    id: randomUUID(),
    type: PING_EVENT_TYPE,
    occurred_at: meta.now.toISOString(),
    org_id: sub.org_id,
    client_id: null,
    subject: { kind: 'webhook_subscription', id: subscriptionId },
    data: {},
  };
  const row = newDelivery(subscriptionId, payload, meta.now);
  await tx.db.insertInto('webhook_deliveries').values(row).execute();
  return deliveryView(row);
}

/**
 * Forgets settled deliveries (delivered, dead, cancelled) last touched before `before`, and their attempts,
 * so the log does not grow without bound. Pending ones are never pruned. Returns how many were removed.
 */
export async function pruneDeliveries(storage: Storage, before: Date, limit = 1000): Promise<number> {
  return storage.transaction(async (tx) => {
    const old = await tx.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', 'in', ['delivered', 'dead', 'cancelled'])
      .where('updated_at', '<', before.toISOString())
      .limit(limit)
      .execute();
    if (old.length === 0) return 0;
    const ids = old.map((r) => r.id);
    await tx.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
    await tx.db.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
    return ids.length;
  });
}
