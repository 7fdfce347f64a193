import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import { relayChanges } from './relay-changes.ts';

export interface PlatformEvents {
  /** Called after new events may exist (relayed here, or recorded by a monitor): consumers run a pass. */
  onEvents(listener: () => void): () => void;
  /** A monitor recorded events directly: wake the consumers. */
  notify(): void;
  /** Relays pending change-feed entries now and wakes consumers; resolves when done (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface PlatformEventsOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** How often to look for other processes' events when nothing woke this one (default 2 s). */
  pollIntervalMs?: number;
}

/**
 * Runs the change-feed relay of this process: woken by every change this process sees (its own commits, and
 * other processes' through LISTEN/NOTIFY or polling) and by a timer; consumers (webhooks, Shared Signals)
 * subscribe with `onEvents` and also run on the timer, so events recorded by another node reach them too.
 */
export function startPlatformEvents(options: PlatformEventsOptions): PlatformEvents {
  const { storage, clock, logger } = options;
  const listeners = new Set<() => void>();
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const notify = () => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        logger.error({ err }, 'event consumer failed to start a pass');
      }
    }
  };
  const pass = async () => {
    do {
      again = false;
      try {
        await relayChanges(storage, clock());
      } catch (err) {
        if (!closed) logger.error({ err }, 'event relay failed; retried on the next change');
      }
    } while (again && !closed);
    notify();
  };
  const wake = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const unsubscribe = storage.feed.subscribe(() => {
    void wake();
  });
  const timer = setInterval(() => void wake(), options.pollIntervalMs ?? 2000);
  timer.unref();
  void wake();
  return {
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify,
    flush: () => wake().then(() => (running ? running : undefined)),
    async close() {
      closed = true;
      clearInterval(timer);
      unsubscribe();
      await running;
    },
  };
}
