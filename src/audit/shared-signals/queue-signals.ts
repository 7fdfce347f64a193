import type { Tx } from '../../storage/index.ts';
import type { EventSigner, PlatformEvent } from '../events/index.ts';
import { type SignalContext, signalOfEvent } from './map-platform-event.ts';
import { signSet } from './sign-set.ts';
import { eventsDelivered } from './stream-request.ts';
import { queueSet, type StreamRecord, streamOfRow } from './streams.ts';
import { type SubjectIdentifier, subjectCovers } from './subject-identifier.ts';

interface StreamTarget {
  stream: StreamRecord;
  orgId: string | null;
  delivered: string[];
  include: SubjectIdentifier[];
  exclude: SubjectIdentifier[];
}

async function targets(tx: Tx): Promise<StreamTarget[]> {
  const rows = await tx.db
    .selectFrom('ssf_streams')
    .innerJoin('ssf_receivers', 'ssf_receivers.id', 'ssf_streams.receiver_id')
    .selectAll('ssf_streams')
    .select('ssf_receivers.org_id as receiver_org')
    // Disabled streams hold nothing (SSF 1.0 §8.1.2); paused ones hold what happens until enabled.
    .where('ssf_streams.status', 'in', ['enabled', 'paused'])
    .where('ssf_receivers.revoked_at', 'is', null)
    .execute();
  if (rows.length === 0) return [];
  const subjects = await tx.db
    .selectFrom('ssf_stream_subjects')
    .select(['stream_id', 'subject', 'mode'])
    .where(
      'stream_id',
      'in',
      rows.map((r) => r.stream_id),
    )
    .execute();
  return rows.map((row) => {
    const mine = subjects.filter((s) => s.stream_id === row.stream_id);
    const stream = streamOfRow(row);
    return {
      stream,
      orgId: row.receiver_org,
      delivered: eventsDelivered(stream.eventsRequested),
      include: mine
        .filter((s) => s.mode === 'include')
        .map((s) => JSON.parse(s.subject) as SubjectIdentifier),
      exclude: mine
        .filter((s) => s.mode === 'exclude')
        .map((s) => JSON.parse(s.subject) as SubjectIdentifier),
    };
  });
}

/** Whether a stream carries a signal about an event (its receiver's scope, its events, its subjects). */
function carries(
  target: StreamTarget,
  event: PlatformEvent,
  type: string,
  subId: SubjectIdentifier,
): boolean {
  if (event.seq <= target.stream.afterSeq) return false;
  // A receiver scoped to an organisation hears only about that organisation's subjects.
  if (target.orgId !== null && event.orgId !== target.orgId) return false;
  if (!target.delivered.includes(type)) return false;
  if (target.exclude.some((s) => subjectCovers(s, subId))) return false;
  return target.include.length === 0 || target.include.some((s) => subjectCovers(s, subId));
}

/**
 * The platform-event consumer's handler: signs one SET per event and stream that carries it, and queues it in
 * the transaction that moves the consumer's cursor (nothing lost, nothing doubled). Returns the streams that
 * got something, to wake their pushers and pollers.
 */
export async function queueSignals(
  tx: Tx,
  events: PlatformEvent[],
  deps: { context: SignalContext; signer: () => Promise<EventSigner>; now: Date },
): Promise<Set<string>> {
  const woken = new Set<string>();
  const all = await targets(tx);
  if (all.length === 0) return woken;
  let signer: EventSigner | undefined;
  for (const event of events) {
    const signal = signalOfEvent(event, deps.context);
    if (!signal) continue;
    for (const target of all) {
      if (!carries(target, event, signal.type, signal.subId)) continue;
      signer ??= await deps.signer();
      const set = await signSet(
        signer,
        {
          iss: deps.context.issuer,
          aud: target.stream.aud,
          subId: signal.subId,
          type: signal.type,
          payload: signal.payload,
          txn: event.id,
        },
        deps.now,
      );
      await queueSet(tx, target.stream.streamId, set, deps.now);
      woken.add(target.stream.streamId);
    }
  }
  return woken;
}
