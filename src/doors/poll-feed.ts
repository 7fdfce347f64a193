import type { Logger } from 'pino';
import { catalogRoutesOf, type FeedChange, type LivenessSnapshot } from '../gateway/feed-protocol.ts';
import type { LivenessState } from '../gateway/liveness.ts';
import type { CatalogRoute } from '../gateway/match-route.ts';
import { FEED_CHANGES_PATH } from './feed-poll-protocol.ts';
import { httpsGet, platformAgent } from './https-get.ts';

export interface PollFeedOptions {
  /** The platform's base URL (https). */
  platformUrl: string;
  /** PEM bundle the platform's server certificate must chain to. */
  ca: string;
  /** The enforcement credential an operator granted (Bearer). */
  credential: string;
  state: LivenessState;
  logger: Logger;
  /** Least time between two polls (default 1000 ms); 0 polls before every decision. */
  refreshMs?: number;
  /** No successful poll for this long (or no snapshot yet) and every request is refused (default 15 000 ms). */
  staleAfterMs?: number;
  /** One poll's time limit (default 3000 ms). */
  timeoutMs?: number;
  /** The catalog routes of each snapshot, and the new table of each `catalog.changed` entry. */
  onRoutes?(routes: CatalogRoute[]): void;
  now?: () => number;
}

export interface PollFollower {
  /**
   * Brings the state up to date when the last poll is older than `refreshMs`; concurrent callers share one
   * poll. Never rejects: a failed poll leaves the state as it was, and `staleness()` says when that is too old.
   */
  refresh(): Promise<void>;
  /** Undefined while the state is fresh; otherwise why requests must be refused. */
  staleness(): string | undefined;
  status(): { fresh: boolean; seq: number; last_success_age_ms: number | null };
  close(): void;
}

const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
// A poller this far behind is better served by one snapshot than by pages of changes.
const MAX_PAGES = 20;

/**
 * Follows the platform's change feed by polling `GET /enforcement/v1/changes`: a snapshot first, then only the
 * changes after the last seq (204 when there are none, so an idle poll costs one small round trip). Applies
 * into the same LivenessState the streaming gateway uses. Fails closed after `staleAfterMs` without success.
 */
export function pollFeed(options: PollFeedOptions): PollFollower {
  const { state, logger } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 1000;
  const staleAfterMs = options.staleAfterMs ?? 15_000;
  const timeoutMs = options.timeoutMs ?? 3000;
  const agent = platformAgent(options.ca);
  const headers = { authorization: `Bearer ${options.credential}`, accept: 'application/json' };
  let seq = -1;
  let lastAttempt: number | undefined;
  let lastSuccess: number | undefined;
  let inflight: Promise<void> | undefined;
  let reportedStale = false;

  function applySnapshot(snapshot: LivenessSnapshot): void {
    state.replace(snapshot);
    seq = snapshot.seq;
    options.onRoutes?.(snapshot.routes);
    logger.info({ seq, applications: snapshot.applications.length }, 'enforcement feed snapshot applied');
  }

  function applyChanges(changes: FeedChange[]): void {
    for (const change of changes) {
      // Each change once, in order: one at or below the position is already in the state.
      if (change.seq <= seq) continue;
      state.apply(change);
      seq = change.seq;
      const routes = catalogRoutesOf(change);
      if (routes) options.onRoutes?.(routes);
    }
  }

  /** One page; true when the platform has more changes to give at once. */
  async function pollOnce(): Promise<boolean> {
    const url = new URL(FEED_CHANGES_PATH, options.platformUrl);
    if (seq >= 0) url.searchParams.set('after', String(seq));
    const answer = await httpsGet(url, { agent, headers, timeoutMs, maxBytes: MAX_ANSWER_BYTES });
    if (answer.status === 204) return false;
    if (answer.status !== 200) {
      throw new Error(
        answer.status === 401
          ? 'the platform refused the enforcement credential'
          : `the platform answered ${answer.status}`,
      );
    }
    const body = JSON.parse(answer.body) as {
      seq?: unknown;
      snapshot?: LivenessSnapshot;
      changes?: FeedChange[];
      more?: unknown;
    };
    if (body.snapshot && typeof body.snapshot === 'object') {
      applySnapshot(body.snapshot);
      return false;
    }
    if (!Array.isArray(body.changes)) throw new Error('unreadable answer: neither changes nor a snapshot');
    applyChanges(body.changes);
    return body.more === true;
  }

  async function poll(): Promise<void> {
    lastAttempt = now();
    try {
      for (let page = 0; (await pollOnce()) && page < MAX_PAGES; page++);
      lastSuccess = now();
      if (reportedStale) logger.info({ seq }, 'enforcement feed fresh: admitting requests again');
      reportedStale = false;
    } catch (err) {
      logger.warn(
        { err: (err as Error).message, platform: options.platformUrl, seq },
        'enforcement feed poll failed',
      );
    }
    const why = staleness();
    if (why && !reportedStale)
      logger.error({ seq, reason: why }, 'enforcement feed stale: refusing every request');
    reportedStale = why !== undefined;
  }

  function staleness(): string | undefined {
    if (seq < 0 || lastSuccess === undefined)
      return 'no snapshot of the platform’s state has been received yet';
    if (now() - lastSuccess > staleAfterMs)
      return `the platform’s change feed has not answered for more than ${staleAfterMs} ms`;
    return undefined;
  }

  return {
    refresh() {
      if (inflight) return inflight;
      if (lastAttempt !== undefined && now() - lastAttempt < refreshMs) return Promise.resolve();
      inflight = poll().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    staleness,
    status: () => ({
      fresh: staleness() === undefined,
      seq,
      last_success_age_ms: lastSuccess === undefined ? null : now() - lastSuccess,
    }),
    close() {
      agent.destroy();
    },
  };
}
