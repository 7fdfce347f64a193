import type { Logger } from 'pino';
import type { PlatformEvents } from '../audit/index.ts';
import { expiringAccessTokenKeys } from '../authorization-server/index.ts';
import { expiringSoftwareStatementKeys } from '../directory/index.ts';
import { expiringFederationKeys } from '../federation/index.ts';
import { runExpiryMonitor } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { ExpiringSource } from '../shared/expiring-item.ts';
import type { Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';

/** Each role's "my expiring keys", due at created_at + keys.maxAgeDays; none when that is 0. */
export function expiryKeySources(maxAgeDays: number): ExpiringSource[] {
  if (maxAgeDays <= 0) return [];
  return [
    (db, _now, horizon) => expiringFederationKeys(db, horizon, maxAgeDays),
    (db, _now, horizon) => expiringSoftwareStatementKeys(db, horizon, maxAgeDays),
    (db, _now, horizon) => expiringAccessTokenKeys(db, horizon, maxAgeDays),
  ];
}

export interface ExpiryMonitor {
  /** One pass now; resolves with the events it recorded. */
  run(): Promise<number>;
  close(): Promise<void>;
}

/** Runs the expiry monitor at start and every expiry.intervalMinutes; wakes event consumers when it recorded. */
export function startExpiryMonitor(options: {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  events: PlatformEvents;
  config: Pick<PlatformConfig, 'expiry' | 'keys'>;
  /** The first pass waits for this (the notifier's first pass, so its cursor exists before the events do). */
  after?: Promise<unknown>;
}): ExpiryMonitor {
  const { storage, clock, logger, events, config } = options;
  const keySources = expiryKeySources(config.keys.maxAgeDays);
  let running: Promise<number> | undefined;
  let closed = false;
  const run = (): Promise<number> => {
    running ??= runExpiryMonitor({
      storage,
      now: clock(),
      thresholds: config.expiry.thresholdDays,
      keySources,
    })
      .then(({ recorded }) => {
        if (recorded > 0) {
          logger.info({ recorded }, 'expiry monitor raised events');
          events.notify();
        }
        return recorded;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const guarded = () =>
    closed ? undefined : run().catch((err) => logger.error({ err }, 'expiry monitor pass failed'));
  const timer = setInterval(guarded, config.expiry.intervalMinutes * 60_000);
  timer.unref();
  void (options.after ?? Promise.resolve()).catch(() => {}).then(guarded);
  return {
    run,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
