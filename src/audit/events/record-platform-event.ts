import { randomUUID } from 'node:crypto';
import { lockJournal, type Tx } from '../../storage/index.ts';
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
