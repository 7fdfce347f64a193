import { createMemoryLivenessState, type LivenessOptions, type LivenessState } from '../../gateway/index.ts';
import { type Clock, systemClock } from '../../shared/clock.ts';
import type { Change, Storage } from '../../storage/index.ts';
import { takeEnforcementSnapshot } from './take-snapshot.ts';

/**
 * The in-process gateway's liveness: the roles' snapshot, kept current from the change feed. Changes published
 * in this process are applied before their transaction's caller returns (Storage.transaction syncs the feed),
 * so the next request already sees them.
 */
export async function createLivenessState(
  storage: Storage,
  options: LivenessOptions & { clock?: Clock } = {},
): Promise<LivenessState> {
  const clock = options.clock ?? systemClock;
  const state = createMemoryLivenessState(options);
  // Subscribe first and hold what arrives while the snapshot loads; entries at or before its seq are in it.
  let pending: Change[] | undefined = [];
  let seq = 0;
  const unsubscribe = storage.feed.subscribe((change) => {
    if (pending) pending.push(change);
    else if (change.seq > seq) state.apply(change);
  });
  state.onClose(unsubscribe);
  try {
    const now = clock();
    const snapshot = await takeEnforcementSnapshot(storage, now);
    seq = snapshot.seq;
    state.replace(snapshot);
    state.prune(now);
    // No-op when the platform already follows the feed; otherwise nothing after `seq` can be missed.
    await storage.feed.start(seq);
    const held = pending;
    pending = undefined;
    for (const change of held) if (change.seq > seq) state.apply(change);
    await storage.feed.sync();
  } catch (err) {
    state.close();
    throw err;
  }
  return state;
}
