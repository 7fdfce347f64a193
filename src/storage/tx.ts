import { sql, type Transaction } from 'kysely';
import type { Change } from './change-feed.ts';
import type { Engine } from './engine.ts';
import type { Database } from './schema.ts';

/** A unit of work: the Kysely transaction plus the changes it published, dispatched once it commits. */
export interface Tx {
  readonly db: Transaction<Database>;
  readonly engine: Engine;
  readonly published: Change[];
}

/**
 * Serialises journal writers (audit chain, change feed) on PostgreSQL so sequence numbers commit in order
 * and a reader that has seen seq N never later finds an N-1 appear. SQLite already has a single writer.
 */
export async function lockJournal(tx: Tx): Promise<void> {
  if (tx.engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(727274001)`.execute(tx.db);
}
