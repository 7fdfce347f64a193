import { changesAfter, type Storage } from '../../storage/index.ts';
import { moveCursor, takeCursor } from './event-cursor.ts';
import { eventsOfChange } from './events-of-change.ts';
import { recordPlatformEvent } from './record-platform-event.ts';

export const RELAY_CONSUMER = 'relay:change_feed';

/**
 * Turns change-feed entries after the relay's cursor into platform events, in one transaction per batch with
 * the cursor move: a crash replays the batch, and the unique `source_seq` keeps it from counting twice.
 * Returns how many events were recorded.
 */
export async function relayChanges(storage: Storage, now: Date, batch = 500): Promise<number> {
  let recorded = 0;
  for (;;) {
    const { done, count } = await storage.transaction(async (tx) => {
      const after = await takeCursor(tx, RELAY_CONSUMER, 0, now);
      const rows = await changesAfter(tx.db, after, batch);
      let count = 0;
      for (const change of rows) {
        const events = eventsOfChange(change);
        for (const [index, event] of events.entries()) {
          // Several events from one entry: the first carries source_seq, the others a dedupe key of their own.
          const options =
            index === 0 ? { sourceSeq: change.seq } : { dedupeKey: `change:${change.seq}:${index}` };
          if (await recordPlatformEvent(tx, event, new Date(change.at), options)) count++;
        }
      }
      if (rows.length > 0) await moveCursor(tx, RELAY_CONSUMER, rows.at(-1)!.seq, now);
      return { done: rows.length < batch, count };
    });
    recorded += count;
    if (done) return recorded;
  }
}
