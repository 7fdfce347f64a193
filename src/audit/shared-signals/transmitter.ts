import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { GuardedSender } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import { consumeEvents, type EventSigner, type PlatformEvents } from '../events/index.ts';
import type { SignalContext } from './map-platform-event.ts';
import { duePushStreams, pruneQueuedSets } from './push-sets.ts';
import { queueSignals } from './queue-signals.ts';
import type { SecretSealer } from './streams.ts';

export const SSF_CONSUMER = 'ssf:transmitter';

export interface SharedSignalsOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  events: Pick<PlatformEvents, 'onEvents'>;
  signer: () => Promise<EventSigner>;
  context: SignalContext;
  poster: GuardedSender;
  sealer: SecretSealer;
  /** How often due push retries (and other nodes' queued SETs) are looked for. Default 1 s. */
  retryIntervalMs?: number;
  /** How long an undelivered or given-up SET is kept. Default 7 days. */
  retentionMs?: number;
}

const PRUNE_EVERY_MS = 60 * 60_000;

/** The running transmitter: follows platform events into stream queues and pushes what is due. */
export interface SharedSignals {
  /** Runs a queue pass now (and a push pass after it); resolves when both are done. */
  flush(): Promise<void>;
  /** SETs were queued for these streams outside the event consumer (verification): deliver them now. */
  queued(streamIds: Iterable<string>): void;
  /**
   * Resolves when something is queued for the stream, or after `ms`, or when `signal` aborts: true, or false
   * when the transmitter is closing (stop waiting).
   */
  waitForSets(streamId: string, ms: number, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** Runs `work` once at a time; a call while it runs asks for one more run after it. */
function serialised(work: () => Promise<void>) {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running.then(() => (running ? running : undefined));
    }
    running = (async () => {
      do {
        again = false;
        await work();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  return { run, idle: () => running ?? Promise.resolve() };
}

/**
 * Starts the SSF transmitter. Woken right after new platform events (`events.onEvents`), it signs and queues
 * the SETs each stream carries in the transaction that moves its cursor, then wakes long-polling receivers
 * and pushes at once: a revocation reaches a push receiver within one round trip of its commit.
 */
export function startSharedSignals(options: SharedSignalsOptions): SharedSignals {
  const { storage, clock, logger } = options;
  let closed = false;
  const waiters = new Map<string, Set<() => void>>();
  const wake = (streamIds: Iterable<string>) => {
    for (const id of streamIds) {
      const set = waiters.get(id);
      if (!set) continue;
      waiters.delete(id);
      for (const resolve of set) resolve();
    }
  };
  // Each stream is pushed on its own: a slow or unreachable receiver (up to the poster's timeout per SET)
  // never holds back a revocation on another stream. A pass only finds due streams and starts those idle.
  const inFlight = new Map<string, Promise<void>>();
  const push = serialised(async () => {
    if (closed) return;
    try {
      const due = await duePushStreams({
        storage,
        poster: options.poster,
        sealer: options.sealer,
        logger,
        now: clock,
      });
      for (const stream of due) {
        if (inFlight.has(stream.streamId) || closed) continue;
        const run = stream
          .push()
          .then(
            (delivered) => {
              // More may have been queued for it meanwhile: look again.
              if (delivered > 0 && !closed) void push.run();
            },
            (err: unknown) => {
              if (!closed)
                logger.error({ err, streamId: stream.streamId }, 'SSF push failed; retried shortly');
            },
          )
          .finally(() => inFlight.delete(stream.streamId));
        inFlight.set(stream.streamId, run);
      }
    } catch (err) {
      if (!closed) logger.error({ err }, 'SSF push pass failed; retried shortly');
    }
  });
  const queue = serialised(async () => {
    if (closed) return;
    const woken = new Set<string>();
    try {
      // Taken before the transaction: the key lookup must not wait on the write lock the pass holds (SQLite).
      const signer = await options.signer();
      await consumeEvents(
        storage,
        SSF_CONSUMER,
        async (tx, events) => {
          const streams = await queueSignals(tx, events, {
            context: options.context,
            signer: () => Promise.resolve(signer),
            now: clock(),
          });
          for (const id of streams) woken.add(id);
        },
        clock(),
      );
    } catch (err) {
      if (!closed) logger.error({ err }, 'SSF queue pass failed; retried on the next event');
    }
    if (woken.size > 0) {
      wake(woken);
      void push.run();
    }
  });
  const unsubscribe = options.events.onEvents(() => {
    void queue.run();
  });
  const timer = setInterval(() => {
    void push.run();
  }, options.retryIntervalMs ?? 1000);
  timer.unref();
  const prune = () =>
    pruneQueuedSets(storage, clock(), options.retentionMs ?? 7 * 24 * 3_600_000).then(
      (dropped) => {
        if (dropped > 0) logger.warn({ dropped }, 'SSF SETs dropped: undelivered past the retention');
      },
      (err: unknown) => {
        if (!closed) logger.error({ err }, 'SSF queue pruning failed');
      },
    );
  const pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
  pruneTimer.unref();
  void queue.run();
  return {
    async flush() {
      await queue.run();
      await push.run();
      while (inFlight.size > 0) {
        await Promise.all(inFlight.values());
        await push.run();
      }
    },
    queued(streamIds) {
      const ids = [...streamIds];
      wake(ids);
      void push.run();
    },
    waitForSets(streamId, ms, signal) {
      return new Promise<boolean>((resolve) => {
        if (closed || signal?.aborted) return resolve(!closed);
        let set = waiters.get(streamId);
        if (!set) {
          set = new Set();
          waiters.set(streamId, set);
        }
        const done = () => {
          clearTimeout(timeout);
          signal?.removeEventListener('abort', done);
          waiters.get(streamId)?.delete(done);
          resolve(!closed);
        };
        const timeout = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        set.add(done);
      });
    },
    async close() {
      closed = true;
      clearInterval(timer);
      clearInterval(pruneTimer);
      unsubscribe();
      for (const set of waiters.values()) for (const resolve of set) resolve();
      waiters.clear();
      await queue.idle();
      await push.idle();
      await Promise.all(inFlight.values());
    },
  };
}
