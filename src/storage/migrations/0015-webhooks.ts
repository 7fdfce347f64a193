import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Signed webhooks (issue 13): subscriptions per event type (optionally one organisation's events), one
 * delivery per (event, subscription) written in the transaction that moves the webhook consumer's cursor,
 * and every attempt logged (status code, duration, error; never a secret, at most a short response excerpt).
 */
export const webhooksMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('webhook_subscriptions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      // JSON array of event types, or ["*"].
      .addColumn('event_types', 'text', (c) => c.notNull())
      // Set: only this organisation's events (a partner-scoped subscription).
      .addColumn('org_id', 'text')
      .addColumn('scheme', 'text', (c) => c.notNull())
      // standard-webhooks: the HMAC secret, AES-256-GCM under a key derived from the KEK (recoverable, never shown again).
      .addColumn('secret_enc', 'text')
      // During a rotation: the previous secret, still signed with until previous_secret_until.
      .addColumn('previous_secret_enc', 'text')
      .addColumn('previous_secret_until', 'text')
      .addColumn('description', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      // The platform event's id: the idempotency key (webhook-id), the same on every attempt.
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      // The JSON body as sent (the event as published; fixed at creation so every attempt sends the same).
      .addColumn('payload', 'text', (c) => c.notNull())
      // pending → delivered | dead; cancelled when its subscription is removed.
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      // When it is due; while claimed, when the claim lapses (a crash mid-send leaves it due again).
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('claim_token', 'text')
      // Start of the retry window (creation, or the operator's redelivery).
      .addColumn('window_started_at', 'text', (c) => c.notNull())
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .addUniqueConstraint('webhook_deliveries_event', ['subscription_id', 'event_id'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('response_excerpt', 'text')
      .execute();
    await db.schema
      .createIndex('webhook_attempts_delivery')
      .on('webhook_attempts')
      .columns(['delivery_id', 'attempt'])
      .execute();
  },
};
