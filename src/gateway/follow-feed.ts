import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import type { Logger } from 'pino';
import {
  catalogRoutesOf,
  FEED_ACK_PATH,
  FEED_EVENTS,
  FEED_PATH,
  FEED_STREAM_HEADER,
  type FeedChange,
  type LivenessSnapshot,
  trustBundleOf,
} from './feed-protocol.ts';
import type { LivenessState } from './liveness.ts';
import type { CatalogRoute } from './match-route.ts';

export interface FollowFeedOptions {
  /** The platform's base URL (https). */
  platformUrl: string;
  /** PEM bundle the platform's server certificate must chain to. */
  ca: string;
  /** The enforcement credential an operator granted (Bearer). */
  credential: string;
  state: LivenessState;
  logger: Logger;
  /** No event or heartbeat for this long (or no snapshot yet) and every request is refused (default 15 000 ms). */
  staleAfterMs?: number;
  /** The catalog routes of each snapshot, and the new table of each `catalog.changed` entry. */
  onRoutes?(routes: CatalogRoute[]): void;
  /** The platform's CA bundle of each snapshot and of each `ca.changed` entry (to be checked by the caller). */
  onTrustBundle?(bundlePem: string): void;
  /** Reconnection delay bounds (default 100 ms doubling to 5 000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}

export interface FeedFollower {
  /** Undefined while the state is fresh; otherwise why requests must be refused. */
  staleness(): string | undefined;
  /** For the health endpoint and logs. */
  status(): { fresh: boolean; seq: number; last_event_age_ms: number | null; connected: boolean };
  close(): void;
}

// A snapshot of a large directory is a few MiB; anything far beyond is not a feed event.
const MAX_EVENT_BYTES = 64 * 1024 * 1024;

/**
 * Follows the platform's change feed over HTTPS into `state`: a snapshot, then the changes in order. After a
 * disconnect it resumes from its last seq (the platform re-sends a snapshot when it cannot replay from there),
 * so no change is missed or applied twice. Fails closed: stale after `staleAfterMs` without a word.
 */
export function followFeed(options: FollowFeedOptions): FeedFollower {
  const { state, logger } = options;
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? 15_000;
  const retryMin = options.retryMinMs ?? 100;
  const retryMax = options.retryMaxMs ?? 5000;
  // Three heartbeats fit in the staleness bound, so one lost or late one does not turn the gateway stale.
  const heartbeatMs = Math.min(60_000, Math.max(200, Math.floor(staleAfterMs / 3)));
  let seq = -1;
  let lastHeard: number | undefined;
  let current: ClientRequest | undefined;
  let connected = false;
  let attempts = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let reportedStale = true;
  let streamId: string | undefined;
  let acked = -1;
  let acking = false;
  // One kept-alive connection for acknowledgements: the platform waits for them before answering revoking calls.
  const ackAgent = new Agent({ keepAlive: true, maxSockets: 1, ca: options.ca });

  /** Tells the platform everything up to `seq` is applied; one in flight at a time, the latest seq next. */
  function acknowledge(): void {
    if (acking || streamId === undefined || seq <= acked || closed) return;
    acking = true;
    const target = seq;
    const req = request(
      new URL(FEED_ACK_PATH, options.platformUrl),
      {
        method: 'POST',
        agent: ackAgent,
        timeout: 5000,
        headers: { authorization: `Bearer ${options.credential}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          acking = false;
          if (res.statusCode === 204) acked = Math.max(acked, target);
          else logger.warn({ status: res.statusCode }, 'the platform refused a feed acknowledgement');
          if (res.statusCode === 204) acknowledge();
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      acking = false;
    });
    req.end(JSON.stringify({ stream: streamId, seq: target }));
  }

  function staleness(): string | undefined {
    if (seq < 0 || lastHeard === undefined)
      return 'no snapshot of the platform’s state has been received yet';
    if (now() - lastHeard > staleAfterMs)
      return `the platform’s change feed has been silent for more than ${staleAfterMs} ms`;
    return undefined;
  }

  function handleEvent(block: string): void {
    let name = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') name = value;
      else if (field === 'data') data = data ? `${data}\n${value}` : value;
    }
    if (name === FEED_EVENTS.snapshot) {
      const snapshot = JSON.parse(data) as LivenessSnapshot;
      state.replace(snapshot);
      seq = snapshot.seq;
      options.onRoutes?.(snapshot.routes);
      if (typeof snapshot.trustBundle === 'string') options.onTrustBundle?.(snapshot.trustBundle);
      logger.info({ seq, applications: snapshot.applications.length }, 'enforcement feed snapshot applied');
    } else if (name === FEED_EVENTS.change) {
      const change = JSON.parse(data) as FeedChange;
      // Each change once, in order: a replayed one at or below the position is already in the state.
      if (change.seq <= seq) return;
      state.apply(change);
      seq = change.seq;
      const routes = catalogRoutesOf(change);
      if (routes) options.onRoutes?.(routes);
      const bundle = trustBundleOf(change);
      if (bundle) options.onTrustBundle?.(bundle);
    }
  }

  function scheduleRetry(): void {
    if (closed || retryTimer) return;
    const delay = Math.min(retryMax, retryMin * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect();
    }, delay);
    retryTimer.unref();
  }

  function onResponse(res: IncomingMessage): void {
    if (res.statusCode !== 200) {
      logger.error(
        { status: res.statusCode, platform: options.platformUrl },
        res.statusCode === 401
          ? 'the platform refused the enforcement credential'
          : 'the platform refused the enforcement feed',
      );
      res.resume();
      if (res.statusCode === 401) attempts = Math.max(attempts, 10);
      return;
    }
    connected = true;
    attempts = 0;
    const named = res.headers[FEED_STREAM_HEADER];
    streamId = typeof named === 'string' ? named : undefined;
    acked = -1;
    lastHeard = seq < 0 ? lastHeard : now();
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      if (seq >= 0) lastHeard = now();
      buffer += chunk.includes('\r') ? chunk.replace(/\r\n?/g, '\n') : chunk;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        try {
          handleEvent(block);
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'unreadable enforcement feed event; reconnecting');
          current?.destroy();
          return;
        }
        if (seq >= 0) lastHeard = now();
      }
      acknowledge();
      if (buffer.length > MAX_EVENT_BYTES) {
        logger.error({ bytes: buffer.length }, 'enforcement feed event too large; reconnecting');
        current?.destroy();
      }
    });
  }

  function connect(): void {
    if (closed) return;
    const url = new URL(FEED_PATH, options.platformUrl);
    url.searchParams.set('heartbeat_ms', String(heartbeatMs));
    if (seq >= 0) url.searchParams.set('after', String(seq));
    const req = request(url, {
      ca: options.ca,
      headers: { authorization: `Bearer ${options.credential}`, accept: 'text/event-stream' },
      // A half-open connection is noticed by the staleness check below, not by the kernel hours later.
      timeout: staleAfterMs,
    });
    current = req;
    req.on('response', onResponse);
    req.on('timeout', () => req.destroy(new Error('no answer from the platform')));
    req.on('error', (err) => {
      logger.warn({ err: err.message, platform: options.platformUrl }, 'enforcement feed connection failed');
    });
    req.on('close', () => {
      if (current === req) current = undefined;
      if (connected) logger.warn({ seq }, 'enforcement feed disconnected; resuming');
      connected = false;
      streamId = undefined;
      scheduleRetry();
    });
    req.end();
  }

  // Logs once when the state turns stale and once when it recovers; reconnects a silent stream.
  const watch = setInterval(
    () => {
      const why = staleness();
      if (why && !reportedStale)
        logger.error({ seq, reason: why }, 'enforcement feed stale: refusing every request');
      if (!why && reportedStale) logger.info({ seq }, 'enforcement feed fresh: admitting requests again');
      reportedStale = why !== undefined;
      if (connected && lastHeard !== undefined && now() - lastHeard > staleAfterMs) current?.destroy();
    },
    Math.max(50, Math.min(1000, Math.floor(staleAfterMs / 4))),
  );
  watch.unref();
  connect();

  return {
    staleness,
    status: () => ({
      fresh: staleness() === undefined,
      seq,
      last_event_age_ms: lastHeard === undefined ? null : now() - lastHeard,
      connected,
    }),
    close() {
      closed = true;
      clearInterval(watch);
      ackAgent.destroy();
      if (retryTimer) clearTimeout(retryTimer);
      current?.destroy();
    },
  };
}
