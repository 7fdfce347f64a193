import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../shared/listener-limits.ts';
import {
  createMetricsRegistry,
  decisionMetrics,
  type MetricsListener,
  processMetrics,
  startMetricsListener,
} from '../shared/metrics/index.ts';
import type { DecisionRecord } from './decision-log.ts';
import type { FeedFollower } from './follow-feed.ts';

export interface StandaloneMetricsOptions {
  /** Default 127.0.0.1: operator-only. */
  host?: string;
  port: number;
  /** Bearer token scrapers must send (required by the CLI off loopback). */
  token?: string;
  limits?: ListenerLimits;
}

/**
 * A standalone gateway's metrics (issue 16): its decisions (as on the platform) and how far it follows the
 * platform's change feed: the seq it has applied, the age of the feed's last word, connected and fresh.
 */
export function standaloneMetrics(): {
  onDecision(entry: DecisionRecord): void;
  follow(feed: FeedFollower): void;
  listen(options: StandaloneMetricsOptions, logger: Logger): Promise<MetricsListener>;
} {
  const registry = createMetricsRegistry();
  const onDecision = decisionMetrics(registry);
  let feed: FeedFollower | undefined;
  const status = () => feed?.status();
  new Gauge({
    name: 'accredit_feed_seq',
    help: 'Change feed sequence numbers: the newest this gateway has applied (source="applied"; -1 before its first snapshot).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const s = status();
      if (s) this.set({ source: 'applied' }, s.seq);
    },
  });
  new Gauge({
    name: 'accredit_feed_last_event_age_seconds',
    help: 'Time since the platform’s change feed last said anything (a change or a heartbeat).',
    registers: [registry],
    collect() {
      const age = status()?.last_event_age_ms;
      if (age !== null && age !== undefined) this.set(age / 1000);
    },
  });
  new Gauge({
    name: 'accredit_feed_connected',
    help: '1 while the change feed stream is open.',
    registers: [registry],
    collect() {
      this.set(status()?.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'accredit_feed_fresh',
    help: '1 while the gateway’s state is fresh; 0: it refuses every request (feed_stale).',
    registers: [registry],
    collect() {
      this.set(status()?.fresh ? 1 : 0);
    },
  });
  return {
    onDecision,
    follow(next) {
      feed = next;
    },
    listen(options, logger) {
      return startMetricsListener({
        host: options.host ?? '127.0.0.1',
        port: options.port,
        registries: [processMetrics(), registry],
        token: options.token,
        limits: options.limits ?? DEFAULT_LISTENER_LIMITS,
        logger,
      });
    },
  };
}
