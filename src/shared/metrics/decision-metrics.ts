import { Counter, Histogram, type Registry } from 'prom-client';

/** What the metrics read of a decision record: never the client, token, certificate or path. */
export interface DecisionSample {
  door?: string | undefined;
  decision: 'allow' | 'deny';
  reason: string;
  latency_ms: number;
  /** `unchecked`: admitted without its rate limits, the store having failed (fail-open). */
  rate_limit?: string | undefined;
}

// From half a millisecond (a cached token, a refused certificate) to seconds (a slow JWKS fetch).
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// Doors and reasons are small closed sets; a runaway label value set would still be bounded by this.
const MAX_SERIES = 512;

/**
 * `accredit_decisions_total{door,decision,reason}` and `accredit_decision_duration_seconds{door,decision}`;
 * returns the listener for the decision taps. It runs on the request path: label children are looked up
 * once and kept, so a decision costs a map lookup, an increment and a bucket search.
 */
export function decisionMetrics(registry: Registry): (entry: DecisionSample) => void {
  const total = new Counter({
    name: 'accredit_decisions_total',
    help: 'Enforcement decisions, by door (gateway, auth_request, ext_authz, authzen, aws-lambda), decision and reason.',
    labelNames: ['door', 'decision', 'reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'accredit_decision_duration_seconds',
    help: 'Time to decide (and, at the gateway, to answer), by door and decision.',
    labelNames: ['door', 'decision'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const unchecked = new Counter({
    name: 'accredit_rate_limit_unchecked_total',
    help: 'Requests admitted without their rate limits because the rate-limit store failed (fail-open), by door.',
    labelNames: ['door'] as const,
    registers: [registry],
  });
  const counters = new Map<string, { inc(): void }>();
  const histograms = new Map<string, { observe(value: number): void }>();
  return (entry) => {
    const door = entry.door ?? 'gateway';
    const key = `${door}\u0000${entry.decision}`;
    const countKey = `${key}\u0000${entry.reason}`;
    let counter = counters.get(countKey);
    if (!counter) {
      if (counters.size >= MAX_SERIES) return;
      counter = total.labels(door, entry.decision, entry.reason);
      counters.set(countKey, counter);
    }
    counter.inc();
    if (entry.rate_limit === 'unchecked') unchecked.labels(door).inc();
    let histogram = histograms.get(key);
    if (!histogram) {
      histogram = duration.labels(door, entry.decision);
      histograms.set(key, histogram);
    }
    if (Number.isFinite(entry.latency_ms) && entry.latency_ms >= 0)
      histogram.observe(entry.latency_ms / 1000);
  };
}
