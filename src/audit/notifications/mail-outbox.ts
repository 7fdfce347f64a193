import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Storage, type Tx } from '../../storage/index.ts';

type OutboxRow = Database['mail_outbox'];

export interface QueuedMail {
  eventId: string;
  eventType: string;
  recipient: string;
  subject: string;
  body: string;
}

/** Queues one mail in the caller's transaction; a second one for the same event and recipient is ignored. */
export async function enqueueMail(tx: Tx, mail: QueuedMail, now: Date): Promise<void> {
  const at = now.toISOString();
  await tx.db
    .insertInto('mail_outbox')
    .values({
      id: randomUUID(),
      event_id: mail.eventId,
      event_type: mail.eventType,
      recipient: mail.recipient,
      subject: mail.subject,
      body: mail.body,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      last_error: null,
      created_at: at,
      sent_at: null,
    })
    .onConflict((oc) => oc.columns(['event_id', 'recipient']).doNothing())
    .execute();
}

/** Mail due at `now`: pending, or claimed by a sender whose claim has lapsed (it crashed before recording). */
export async function dueMail(db: Kysely<Database>, now: Date, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('mail_outbox')
    .selectAll()
    .where('status', 'in', ['pending', 'sending'])
    .where('next_attempt_at', '<=', now.toISOString())
    .orderBy('next_attempt_at')
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/**
 * Claims a due row for one send attempt until `until`, committed before the SMTP conversation starts: a
 * compare-and-set on what was read, so of two senders (nodes) only one gets it. False: someone else did.
 */
export async function claimMail(storage: Storage, row: OutboxRow, until: Date): Promise<boolean> {
  const result = await storage.db
    .updateTable('mail_outbox')
    .set({ status: 'sending', attempts: row.attempts + 1, next_attempt_at: until.toISOString() })
    .where('id', '=', row.id)
    .where('status', '=', row.status)
    .where('attempts', '=', row.attempts)
    .where('next_attempt_at', '=', row.next_attempt_at)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function markMailSent(storage: Storage, id: string, now: Date): Promise<void> {
  await storage.db
    .updateTable('mail_outbox')
    .set({ status: 'sent', sent_at: now.toISOString(), last_error: null })
    .where('id', '=', id)
    .execute();
}

/** A failed attempt: tried again at `retryAt`, or given up (`failed`) when `retryAt` is undefined. */
export async function markMailFailed(
  storage: Storage,
  id: string,
  error: string,
  retryAt: Date | undefined,
): Promise<void> {
  await storage.db
    .updateTable('mail_outbox')
    .set({
      status: retryAt ? 'pending' : 'failed',
      last_error: error.slice(0, 500),
      ...(retryAt ? { next_attempt_at: retryAt.toISOString() } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** The outbox as operators and tests see it (no bodies), newest first. */
export async function listMailOutbox(
  db: Kysely<Database>,
  filter: { eventId?: string; status?: OutboxRow['status']; limit?: number } = {},
): Promise<Omit<OutboxRow, 'body'>[]> {
  return (await listMailOutboxPage(db, filter, { limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000) }))
    .items;
}

/** The outbox newest first, keyset-paged by (created_at, id) descending; never the bodies. */
export async function listMailOutboxPage(
  db: Kysely<Database>,
  filter: { eventId?: string; status?: OutboxRow['status'] },
  page: PageRequest,
): Promise<Page<Omit<OutboxRow, 'body'>>> {
  let q = db
    .selectFrom('mail_outbox')
    .select([
      'id',
      'event_id',
      'event_type',
      'recipient',
      'subject',
      'status',
      'attempts',
      'next_attempt_at',
      'last_error',
      'created_at',
      'sent_at',
    ])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  if (filter.eventId) q = q.where('event_id', '=', filter.eventId);
  if (filter.status) q = q.where('status', '=', filter.status);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after, true));
  return toPage(await q.execute(), page.limit, (r) => [r.created_at, r.id]);
}
