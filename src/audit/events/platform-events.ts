import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { createCoalescingRunner } from '../../shared/coalescing-runner.ts';
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
  const notify = () => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        logger.error({ err }, 'event consumer failed to start a pass');
      }
    }
  };
  const runner = createCoalescingRunner(
    async () => {
      try {
        await relayChanges(storage, clock());
      } finally {
        // Consumers run even when the relay failed: a monitor may have recorded events directly.
        notify();
      }
    },
    {
      intervalMs: options.pollIntervalMs ?? 2000,
      onError: (err) => logger.error({ err }, 'event relay failed; retried on the next change'),
    },
  );
  const unsubscribe = storage.feed.subscribe(() => {
    void runner.wake();
  });
  void runner.wake();
  return {
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify,
    flush: () => runner.flush(),
    async close() {
      unsubscribe();
      await runner.close();
    },
  };
}
