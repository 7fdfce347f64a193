import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { FEED_STREAM_HEADER, type FeedChange, type LivenessSnapshot } from '../../gateway/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Change, Storage } from '../../storage/index.ts';
import { takeEnforcementSnapshot } from './take-snapshot.ts';

export interface FeedHubOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Concurrent feed streams (default 64); one more is refused with 503. */
  maxClients?: number;
  /** Changes kept for resumption (default 10 000); a client further behind gets a new snapshot. */
  replayCapacity?: number;
  /** Bytes a stream may have unsent before it is dropped (default 1 MiB); a slow reader never blocks the platform. */
  maxBufferedBytes?: number;
}

interface Stream {
  id: string;
  credentialId: string;
  /** Highest seq the client says it has applied; -1 until it first acknowledges (a client that never does is not waited for). */
  ackedSeq: number;
  res: ServerResponse;
  /** Changes that arrive while the snapshot is being read; undefined once it is sent. */
  pending: FeedChange[] | undefined;
  /** Highest seq written to this stream. */
  sentSeq: number;
  heartbeat: NodeJS.Timeout | undefined;
}

export interface FeedHub {
  /** Whether another stream may open now. */
  hasRoom(): boolean;
  /** Streams the feed on `res` (headers not yet sent): deltas after `after` when they can be replayed, else a snapshot first. */
  open(
    res: ServerResponse,
    input: { credentialId: string; after: number | undefined; heartbeatMs: number },
  ): Promise<void>;
  /** Records that a stream's client has applied every change up to `seq`; false for an unknown stream. */
  acknowledge(credentialId: string, streamId: string, seq: number): boolean;
  /** The highest seq sent to streams so far. */
  lastSeq(): number;
  /**
   * Resolves once every acknowledging stream has applied `seq`, or after `timeoutMs`: revoking calls are
   * answered after that, so a standalone gateway refuses the very next request.
   */
  settle(seq: number, timeoutMs: number): Promise<void>;
  /** Ends every stream opened with this credential (it has just been revoked). */
  dropCredential(credentialId: string): void;
  clients(): number;
  /** Each open stream's credential and the highest seq its client acknowledged (-1: none yet), for metrics. */
  followers(): Array<{ credentialId: string; ackedSeq: number }>;
  close(): void;
}

const REMOTE_HEARTBEAT_MS = 1000;
const REMOTE_FRESH_MS = 3000;

const toFeed = (change: Change): FeedChange => ({
  seq: change.seq,
  at: change.at,
  kind: change.kind,
  entityId: change.entityId,
  payload: change.payload,
});

function event(name: string, id: number, data: unknown): string {
  // JSON.stringify never emits a raw newline, so each event's data is one `data:` line (WHATWG SSE §9.2.6).
  return `event: ${name}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Serves the change feed to enforcement points as server-sent events. It follows the platform's change feed
 * from the moment it starts and keeps the latest changes, so a client that reconnects with its last seq gets
 * exactly the changes after it, or, when they are no longer all held, a fresh snapshot: never a gap.
 */
export function createFeedHub(options: FeedHubOptions): FeedHub {
  const { storage, clock, logger } = options;
  const maxClients = options.maxClients ?? 64;
  const capacity = options.replayCapacity ?? 10_000;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const streams = new Set<Stream>();
  const waiters = new Set<{ seq: number; done: () => void }>();

  const lagging = (seq: number) =>
    [...streams].filter((s) => s.ackedSeq >= 0 && s.pending === undefined && s.ackedSeq < seq);

  // Issue 16: the other platform nodes on the same PostgreSQL database say, by signal, what their acknowledging
  // gateways have applied; a revoking call waits for those too, so every gateway refuses the next request,
  // whichever node it follows. A node not heard from within REMOTE_FRESH_MS is not waited for.
  const nodeId = randomUUID();
  const remotes = new Map<string, { applied: number; streams: number; seenAt: number }>();
  const remoteLagging = (seq: number) => {
    const now = Date.now();
    return [...remotes.entries()]
      .filter(([, r]) => r.streams > 0 && now - r.seenAt < REMOTE_FRESH_MS && r.applied < seq)
      .map(([id]) => id);
  };
  let announced = '';
  function announce(force = false): void {
    if (!storage.feed.signals) return;
    const acking = [...streams].filter((s) => s.ackedSeq >= 0 && s.pending === undefined);
    const applied = acking.length > 0 ? Math.min(...acking.map((s) => s.ackedSeq)) : lastSeq;
    const text = JSON.stringify({ t: 'enforced', node: nodeId, applied, streams: acking.length });
    if (!force && text === announced) return;
    announced = text;
    storage.feed.signal(text).catch(() => {
      // Best effort: the waiting node times out (ENFORCEMENT_WAIT_MS) and the next heartbeat repeats it.
    });
  }
  const heartbeat = setInterval(() => {
    if ([...streams].some((s) => s.ackedSeq >= 0)) announce(true);
  }, REMOTE_HEARTBEAT_MS);
  heartbeat.unref();
  const unlisten = storage.feed.onSignal((payload) => {
    let message: { t?: unknown; node?: unknown; applied?: unknown; streams?: unknown };
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    if (message.t !== 'enforced' || typeof message.node !== 'string' || message.node === nodeId) return;
    if (typeof message.applied !== 'number' || typeof message.streams !== 'number') return;
    if (message.streams === 0) remotes.delete(message.node);
    else
      remotes.set(message.node, { applied: message.applied, streams: message.streams, seenAt: Date.now() });
    wake();
  });

  function wake(): void {
    for (const waiter of waiters) {
      if (lagging(waiter.seq).length === 0 && remoteLagging(waiter.seq).length === 0) waiter.done();
    }
  }
  const held: FeedChange[] = [];
  // Every committed change with seq in (coveredFrom, lastSeq] has been seen, the newest `capacity` are held.
  let coveredFrom = storage.feed.lastSeq;
  let lastSeq = coveredFrom;

  function end(stream: Stream, why: string): void {
    if (!streams.delete(stream)) return;
    clearInterval(stream.heartbeat);
    wake();
    announce();
    logger.info(
      { enforcement_credential: stream.credentialId, reason: why },
      'enforcement feed stream closed',
    );
    stream.res.destroy();
  }

  function send(stream: Stream, change: FeedChange): void {
    if (change.seq <= stream.sentSeq) return;
    stream.sentSeq = change.seq;
    stream.res.write(event('change', change.seq, change));
    if (stream.res.writableLength > maxBuffered) end(stream, 'slow_reader');
  }

  const unsubscribe = storage.feed.subscribe((change) => {
    const item = toFeed(change);
    held.push(item);
    if (held.length > capacity) coveredFrom = held.shift()!.seq;
    lastSeq = Math.max(lastSeq, item.seq);
    for (const stream of streams) {
      if (stream.pending) stream.pending.push(item);
      else send(stream, item);
    }
  });

  return {
    hasRoom: () => streams.size < maxClients,
    clients: () => streams.size,
    followers: () => [...streams].map((s) => ({ credentialId: s.credentialId, ackedSeq: s.ackedSeq })),
    lastSeq: () => lastSeq,
    acknowledge(credentialId, streamId, seq) {
      for (const stream of streams) {
        if (stream.id !== streamId || stream.credentialId !== credentialId) continue;
        stream.ackedSeq = Math.max(stream.ackedSeq, Math.min(seq, stream.sentSeq));
        wake();
        announce();
        return true;
      }
      return false;
    },
    settle(seq, timeoutMs) {
      if (lagging(seq).length === 0 && remoteLagging(seq).length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = {
          seq,
          done: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          logger.warn(
            { seq, lagging: lagging(seq).map((s) => s.credentialId), lagging_nodes: remoteLagging(seq) },
            'an enforcement point did not confirm a change in time; answering anyway',
          );
          waiter.done();
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async open(res, input) {
      const id = randomUUID();
      res.writeHead(200, {
        [FEED_STREAM_HEADER]: id,
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      const stream: Stream = {
        id,
        credentialId: input.credentialId,
        ackedSeq: -1,
        res,
        pending: undefined,
        sentSeq: -1,
        heartbeat: undefined,
      };
      streams.add(stream);
      res.once('close', () => end(stream, 'client_closed'));
      stream.heartbeat = setInterval(() => {
        // A comment line (SSE §9.2.6): the client learns the stream is alive without a change to apply.
        res.write(`: ${clock().toISOString()}\n\n`);
        if (res.writableLength > maxBuffered) end(stream, 'slow_reader');
      }, input.heartbeatMs);
      stream.heartbeat.unref();
      const after = input.after;
      if (after !== undefined && after >= coveredFrom && after <= lastSeq) {
        // Synchronously: nothing can be published between the replay and joining the live stream.
        stream.sentSeq = after;
        res.write(': resumed\n\n');
        for (const change of held) send(stream, change);
        return;
      }
      stream.pending = [];
      let snapshot: LivenessSnapshot;
      try {
        snapshot = await takeEnforcementSnapshot(storage, clock());
      } catch (err) {
        logger.error({ err }, 'enforcement feed snapshot failed');
        end(stream, 'snapshot_failed');
        return;
      }
      if (!streams.has(stream)) return;
      stream.sentSeq = snapshot.seq;
      res.write(event('snapshot', snapshot.seq, snapshot));
      const queued = stream.pending;
      stream.pending = undefined;
      for (const change of queued) send(stream, change);
    },
    dropCredential(credentialId) {
      for (const stream of streams)
        if (stream.credentialId === credentialId) end(stream, 'credential_revoked');
    },
    close() {
      unsubscribe();
      unlisten();
      clearInterval(heartbeat);
      for (const waiter of waiters) waiter.done();
      for (const stream of streams) end(stream, 'platform_stopping');
    },
  };
}
