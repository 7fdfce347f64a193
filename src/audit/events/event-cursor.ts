import { type Kysely, sql } from 'kysely';
import type { Database, Tx } from '../../storage/index.ts';

// One advisory lock per consumer name on PostgreSQL: two nodes never process the same events at once.
function lockKey(consumer: string): number {
  let h = 0;
  for (const ch of consumer) h = (Math.imul(h, 31) + ch.codePointAt(0)!) | 0;
  return h;
}

/**
 * Takes a consumer's cursor for the rest of the transaction and returns its position (creating it at
 * `initial` the first time). SQLite transactions are already serialised by its write lock.
 */
export async function takeCursor(tx: Tx, consumer: string, initial: number, now: Date): Promise<number> {
  if (tx.engine === 'postgres') {
    await sql`SELECT pg_advisory_xact_lock(727274100, ${lockKey(consumer)})`.execute(tx.db);
  }
  const row = await tx.db
    .selectFrom('event_cursors')
    .select('last_seq')
    .where('consumer', '=', consumer)
    .executeTakeFirst();
  if (row) return Number(row.last_seq);
  await tx.db
    .insertInto('event_cursors')
    .values({ consumer, last_seq: initial, updated_at: now.toISOString() })
    .execute();
  return initial;
}

export async function moveCursor(tx: Tx, consumer: string, seq: number, now: Date): Promise<void> {
  await tx.db
    .updateTable('event_cursors')
    .set({ last_seq: seq, updated_at: now.toISOString() })
    .where('consumer', '=', consumer)
    .execute();
}

/** Where a consumer stands (undefined: it has never run). */
export async function cursorOf(
  tx: { db: Kysely<Database> | Tx['db'] },
  consumer: string,
): Promise<number | undefined> {
  const row = await tx.db
    .selectFrom('event_cursors')
    .select('last_seq')
    .where('consumer', '=', consumer)
    .executeTakeFirst();
  return row ? Number(row.last_seq) : undefined;
}
