import type { FeedChange, LivenessSnapshot } from '../gateway/feed-protocol.ts';

/**
 * `GET /enforcement/v1/changes?after=SEQ`: the change feed without a stream, for enforcement points that
 * cannot hold one open (a Lambda authorizer is frozen between invocations). Same credential as the SSE feed.
 * Answers 204 when nothing happened after SEQ, the changes after it (at most `limit`), or a snapshot when SEQ
 * is absent, too old to replay, or not one this platform has reached.
 */
export const FEED_CHANGES_PATH = '/enforcement/v1/changes';

/** The most changes one answer carries; `more: true` says ask again at once from the returned `seq`. */
export const FEED_CHANGES_LIMIT = 1000;

/** The changes after the requested seq, in order; `seq` is the last one's. */
export interface FeedChangesAnswer {
  seq: number;
  changes: FeedChange[];
  more: boolean;
}

/** Everything as of `seq`: the poller replaces its state with it. */
export interface FeedSnapshotAnswer {
  seq: number;
  snapshot: LivenessSnapshot;
}

export type FeedPollAnswer = FeedChangesAnswer | FeedSnapshotAnswer;
