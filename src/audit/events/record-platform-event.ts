import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Database, lockJournal, type Tx } from '../../storage/index.ts';
import type { PlatformEventInput } from './event-types.ts';

export interface RecordOptions {
  /** The change-feed entry the event was relayed from. */
  sourceSeq?: number;
  /** Unique per occurrence (a monitor's "expiring within N days"): recording it again is a no-op. */
  dedupeKey?: string;
}

/**
 * Records a platform event in the caller's transaction: it exists exactly when the change does. The journal
 * lock keeps `seq` in commit order, so a consumer's cursor never skips an event committed late.
 * Returns false when the dedupe key (or source entry) was recorded already.
 */
export async function recordPlatformEvent(
  tx: Tx,
  event: PlatformEventInput,
  now: Date,
  options: RecordOptions = {},
): Promise<boolean> {
  await lockJournal(tx);
  if (options.dedupeKey !== undefined) {
    const seen = await tx.db
      .selectFrom('platform_events')
      .select('seq')
      .where('dedupe_key', '=', options.dedupeKey)
      .executeTakeFirst();
    if (seen) return false;
  }
  if (options.sourceSeq !== undefined) {
    const seen = await tx.db
      .selectFrom('platform_events')
      .select('seq')
      .where('source_seq', '=', options.sourceSeq)
      .executeTakeFirst();
    if (seen) return false;
  }
  await tx.db
    .insertInto('platform_events')
    .values({
      id: randomUUID(),
      type: event.type,
      occurred_at: now.toISOString(),
      org_id: event.orgId,
      client_id: event.clientId,
      subject: JSON.stringify(event.subject),
      data: JSON.stringify(event.data),
      source_seq: options.sourceSeq ?? null,
      dedupe_key: options.dedupeKey ?? null,
    })
    .execute();
  return true;
}

/**
 * Which of these dedupe keys are recorded already: lets a monitor skip, without a transaction each, what an
 * earlier pass recorded (recordPlatformEvent still checks under the journal lock for what races).
 */
export async function recordedDedupeKeys(
  db: Kysely<Database> | Tx['db'],
  keys: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const rows = await db
      .selectFrom('platform_events')
      .select('dedupe_key')
      .where('dedupe_key', 'in', [...chunk])
      .execute();
    for (const r of rows) if (r.dedupe_key) found.add(r.dedupe_key);
  }
  return found;
}
