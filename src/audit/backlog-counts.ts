import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** What is waiting to leave the platform, and what gave up: the metrics' backlog gauges. */
export interface BacklogCounts {
  /** Webhook deliveries still to be sent (first attempt or a retry). */
  webhookPending: number;
  /** Webhook deliveries that exhausted their retries (dead letters, until redelivered or cancelled). */
  webhookDead: number;
  /** Security Event Tokens queued for a stream (pushed or waiting to be polled), not failed. */
  ssfQueued: number;
  /** SETs a push endpoint refused for good. */
  ssfFailed: number;
  /** Notification mail not yet sent (pending, or claimed by a sender). */
  mailPending: number;
  /** Notification mail given up on. */
  mailFailed: number;
}

const count = (n: unknown) => Number(n ?? 0);

/** One grouped COUNT per table: cheap, but callers should still not run it on every request. */
export async function countBacklogs(db: Kysely<Database>): Promise<BacklogCounts> {
  const [webhooks, sets, mail] = await Promise.all([
    db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .where('status', 'in', ['pending', 'dead'])
      .groupBy('status')
      .execute(),
    db
      .selectFrom('ssf_queued_sets')
      .select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.count('failed_at').as('failed')])
      .executeTakeFirst(),
    db
      .selectFrom('mail_outbox')
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .where('status', 'in', ['pending', 'sending', 'failed'])
      .groupBy('status')
      .execute(),
  ]);
  const of = (rows: Array<{ status: string; n: unknown }>, ...statuses: string[]) =>
    rows.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + count(r.n), 0);
  const failed = count(sets?.failed);
  return {
    webhookPending: of(webhooks, 'pending'),
    webhookDead: of(webhooks, 'dead'),
    ssfQueued: count(sets?.n) - failed,
    ssfFailed: failed,
    mailPending: of(mail, 'pending', 'sending'),
    mailFailed: of(mail, 'failed'),
  };
}
