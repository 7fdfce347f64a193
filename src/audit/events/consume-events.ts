import type { Storage, Tx } from '../../storage/index.ts';
import { moveCursor, takeCursor } from './event-cursor.ts';
import type { EventSubject, EventType, PlatformEvent } from './event-types.ts';

export type EventHandler = (tx: Tx, events: PlatformEvent[]) => Promise<void>;

export interface ConsumeOptions {
  batch?: number;
  /** Where a consumer that has never run starts: after every event so far (`now`, default) or at the start. */
  from?: 'now' | 'beginning';
}

async function latestSeq(tx: Tx): Promise<number> {
  const row = await tx.db
    .selectFrom('platform_events')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return row?.max == null ? 0 : Number(row.max);
}

export function toPlatformEvent(row: {
  seq: number | string;
  id: string;
  type: string;
  occurred_at: string;
  org_id: string | null;
  client_id: string | null;
  subject: string;
  data: string;
}): PlatformEvent {
  return {
    seq: Number(row.seq),
    id: row.id,
    type: row.type as EventType,
    occurredAt: row.occurred_at,
    orgId: row.org_id,
    clientId: row.client_id,
    subject: JSON.parse(row.subject) as EventSubject,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/**
 * Hands the events after a consumer's cursor to `handler` inside one transaction per batch, and moves the
 * cursor in the same transaction: what the handler writes (a delivery, a queued SET) exists exactly when the
 * cursor has passed the event, so nothing is lost or doubled across a crash or restart. Returns the count.
 */
export async function consumeEvents(
  storage: Storage,
  consumer: string,
  handler: EventHandler,
  now: Date,
  options: ConsumeOptions = {},
): Promise<number> {
  const batch = options.batch ?? 200;
  let handled = 0;
  for (;;) {
    const { done, count } = await storage.transaction(async (tx) => {
      const initial = options.from === 'beginning' ? 0 : await latestSeq(tx);
      const after = await takeCursor(tx, consumer, initial, now);
      const rows = await tx.db
        .selectFrom('platform_events')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(batch)
        .execute();
      if (rows.length === 0) return { done: true, count: 0 };
      await handler(tx, rows.map(toPlatformEvent));
      await moveCursor(tx, consumer, Number(rows.at(-1)!.seq), now);
      return { done: rows.length < batch, count: rows.length };
    });
    handled += count;
    if (done) return handled;
  }
}

/** Events in order, newest last, for operators and the poll endpoints (`after` a seq, at most `limit`). */
export async function listPlatformEvents(
  storage: Pick<Storage, 'db'>,
  query: { after?: number; limit?: number; type?: EventType; orgId?: string } = {},
): Promise<PlatformEvent[]> {
  let q = storage.db
    .selectFrom('platform_events')
    .selectAll()
    .where('seq', '>', query.after ?? 0)
    .orderBy('seq')
    .limit(Math.min(Math.max(query.limit ?? 100, 1), 1000));
  if (query.type) q = q.where('type', '=', query.type);
  if (query.orgId) q = q.where('org_id', '=', query.orgId);
  return (await q.execute()).map(toPlatformEvent);
}
