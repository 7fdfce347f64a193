import type { Logger } from 'pino';
import type { DecisionRecord } from '../gateway/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import type { DecisionTaps } from './decision-taps.ts';

/** A decision as the console sees it: the tap's record, when it was made and its place in the log. */
export interface RecordedDecision extends DecisionRecord {
  /** Monotonically increasing within this process (SSE event id, `before` cursor). */
  id: number;
  at: string;
}

export interface DecisionFilter {
  decision?: 'allow' | 'deny' | undefined;
  reason?: string | undefined;
  org_id?: string | undefined;
  client_id?: string | undefined;
  door?: string | undefined;
}

export interface DecisionPage {
  items: RecordedDecision[];
  /** Pass as `before` for the next (older) page; null when nothing older matched. */
  next_before: number | null;
}

export interface MinutePoint {
  minute: string;
  requests: number;
  denials: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface TrafficSummary {
  requests: number;
  denials: number;
  p50_ms: number | null;
  p95_ms: number | null;
  denials_by_reason: Record<string, number>;
  series: MinutePoint[];
}

export interface DecisionStats {
  minutes: number;
  from: string;
  to: string;
  total: TrafficSummary;
  /** Decisions without an organisation (no or an unknown credential) are under `org_id: null`. */
  organisations: Array<TrafficSummary & { org_id: string | null }>;
  denials_by_reason: Array<{ reason: string; count: number }>;
}

/** A live subscriber (one SSE stream). */
export interface DecisionSubscription {
  close(): void;
}

export interface DecisionRecorder {
  /** Newest first, at most `limit`, older than `before` when given. */
  list(filter: DecisionFilter, limit: number, before?: number): DecisionPage;
  /**
   * Calls `send` for every matching decision from now on (first, synchronously, those after `after` still in
   * the buffer). Undefined when the maximum number of subscribers is reached.
   */
  subscribe(
    filter: DecisionFilter,
    send: (entry: RecordedDecision) => void,
    options: { after?: number | undefined; onClose: () => void },
  ): DecisionSubscription | undefined;
  subscribers(): number;
  stats(minutes: number): DecisionStats;
  /** Writes the pending last-seen times to `client_activity` (one batched upsert). */
  flush(): Promise<void>;
  /** Stops following the taps, ends every subscriber and flushes. */
  close(): Promise<void>;
}

export interface DecisionRecorderOptions {
  taps: DecisionTaps;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  capacity?: number;
  maxSubscribers?: number;
  flushMs?: number;
}

export const DEFAULT_CAPACITY = 10_000;
export const DEFAULT_MAX_SUBSCRIBERS = 16;
const FLUSH_MS = 30_000;
const MINUTE_MS = 60_000;
const KEEP_MINUTES = 24 * 60;
const UPSERT_CHUNK = 200;
/** Upper bounds (ms) of the latency histogram's buckets; the last one catches everything above. */
export const LATENCY_BOUNDS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000,
];

interface Bucket {
  requests: number;
  denials: number;
  reasons: Map<string, number>;
  histogram: Uint32Array;
}

const newBucket = (): Bucket => ({
  requests: 0,
  denials: 0,
  reasons: new Map(),
  histogram: new Uint32Array(LATENCY_BOUNDS_MS.length + 1),
});

function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= (LATENCY_BOUNDS_MS[i] as number)) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** The upper bound of the bucket holding the q-quantile (the last finite bound for the overflow bucket). */
export function quantileOf(histogram: Uint32Array, q: number): number | null {
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] as number;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)] as number;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number;
}

function addInto(target: Bucket, source: Bucket): void {
  target.requests += source.requests;
  target.denials += source.denials;
  for (const [reason, n] of source.reasons) target.reasons.set(reason, (target.reasons.get(reason) ?? 0) + n);
  for (let i = 0; i < source.histogram.length; i++) {
    target.histogram[i] = (target.histogram[i] as number) + (source.histogram[i] as number);
  }
}

export function matches(entry: DecisionRecord, filter: DecisionFilter): boolean {
  return (
    (filter.decision === undefined || entry.decision === filter.decision) &&
    (filter.reason === undefined || entry.reason === filter.reason) &&
    (filter.org_id === undefined || entry.org_id === filter.org_id) &&
    (filter.client_id === undefined || entry.client_id === filter.client_id) &&
    (filter.door === undefined || (entry.door ?? 'gateway') === filter.door)
  );
}

interface Seen {
  org_id: string | null;
  last_seen_at: string;
  last_allowed_at: string | null;
}

/**
 * Follows the decision taps (synchronously, without I/O: the request path must stay cheap): the last
 * decisions in a ring buffer, live subscribers, per-organisation per-minute aggregates for 24 h, and each
 * client's last-seen time, written to `client_activity` in batches.
 */
export function startDecisionRecorder(options: DecisionRecorderOptions): DecisionRecorder {
  const { storage, clock, logger } = options;
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
  const ring: Array<RecordedDecision | undefined> = new Array(capacity);
  let lastId = 0;
  const subscribers = new Set<{
    filter: DecisionFilter;
    send: (entry: RecordedDecision) => void;
    onClose: () => void;
  }>();
  // minute (epoch minutes) → organisation ('' = none) → bucket
  const minutes = new Map<number, Map<string, Bucket>>();
  let pending = new Map<string, Seen>();
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  const at = (id: number) => ring[(id - 1) % capacity];
  const oldestId = () => Math.max(1, lastId - capacity + 1);

  function aggregate(entry: DecisionRecord, now: Date): void {
    const minute = Math.floor(now.getTime() / MINUTE_MS);
    let orgs = minutes.get(minute);
    if (!orgs) {
      orgs = new Map();
      minutes.set(minute, orgs);
      // A new minute: drop what is older than a day (1,440 keys at most).
      for (const m of minutes.keys()) if (m <= minute - KEEP_MINUTES) minutes.delete(m);
    }
    const key = entry.org_id ?? '';
    let bucket = orgs.get(key);
    if (!bucket) {
      bucket = newBucket();
      orgs.set(key, bucket);
    }
    bucket.requests += 1;
    if (entry.decision === 'deny') {
      bucket.denials += 1;
      bucket.reasons.set(entry.reason, (bucket.reasons.get(entry.reason) ?? 0) + 1);
    }
    const index = bucketIndex(Number.isFinite(entry.latency_ms) ? entry.latency_ms : 0);
    bucket.histogram[index] = (bucket.histogram[index] as number) + 1;
  }

  function remember(entry: DecisionRecord, iso: string): void {
    if (!entry.client_id) return;
    const previous = pending.get(entry.client_id);
    pending.set(entry.client_id, {
      org_id: entry.org_id ?? previous?.org_id ?? null,
      last_seen_at: iso,
      last_allowed_at: entry.decision === 'allow' ? iso : (previous?.last_allowed_at ?? null),
    });
  }

  const unfollow = options.taps.add((entry) => {
    const now = clock();
    const iso = now.toISOString();
    lastId += 1;
    const recorded: RecordedDecision = { ...entry, id: lastId, at: iso };
    ring[(lastId - 1) % capacity] = recorded;
    aggregate(entry, now);
    remember(entry, iso);
    for (const subscriber of subscribers) {
      if (!matches(recorded, subscriber.filter)) continue;
      try {
        subscriber.send(recorded);
      } catch {
        // A broken stream ends through its own close handler.
      }
    }
  });

  async function writePending(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const rows = [...batch].map(([client_id, seen]) => ({ client_id, ...seen }));
    try {
      for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
        await storage.db
          .insertInto('client_activity')
          .values(rows.slice(i, i + UPSERT_CHUNK))
          .onConflict((oc) =>
            oc.column('client_id').doUpdateSet((eb) => ({
              org_id: eb.fn.coalesce('excluded.org_id', 'client_activity.org_id'),
              last_seen_at: eb.ref('excluded.last_seen_at'),
              last_allowed_at: eb.fn.coalesce('excluded.last_allowed_at', 'client_activity.last_allowed_at'),
            })),
          )
          .execute();
      }
    } catch (err) {
      // Put the batch back (newer sightings win) and try again at the next flush.
      for (const [clientId, seen] of batch) if (!pending.has(clientId)) pending.set(clientId, seen);
      logger.error({ err }, 'writing client activity failed');
    }
  }

  const flush = (): Promise<void> => {
    flushing = flushing.then(writePending);
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushMs ?? FLUSH_MS);
  timer.unref();

  function summarise(buckets: Array<Bucket | undefined>, firstMinute: number): TrafficSummary {
    const sum = newBucket();
    const series: MinutePoint[] = buckets.map((b, i) => {
      if (b) addInto(sum, b);
      return {
        minute: new Date((firstMinute + i) * MINUTE_MS).toISOString(),
        requests: b?.requests ?? 0,
        denials: b?.denials ?? 0,
        p50_ms: b ? quantileOf(b.histogram, 0.5) : null,
        p95_ms: b ? quantileOf(b.histogram, 0.95) : null,
      };
    });
    return {
      requests: sum.requests,
      denials: sum.denials,
      p50_ms: quantileOf(sum.histogram, 0.5),
      p95_ms: quantileOf(sum.histogram, 0.95),
      denials_by_reason: Object.fromEntries(sum.reasons),
      series,
    };
  }

  return {
    list(filter, limit, before) {
      const items: RecordedDecision[] = [];
      const start = Math.min(before === undefined ? lastId : before - 1, lastId);
      let id = start;
      for (; id >= oldestId() && items.length < limit; id--) {
        const entry = at(id);
        if (entry && matches(entry, filter)) items.push(entry);
      }
      const more = items.length === limit && id >= oldestId();
      return { items, next_before: more ? (items[items.length - 1]?.id ?? null) : null };
    },
    subscribe(filter, send, { after, onClose }) {
      if (closed || subscribers.size >= maxSubscribers) return undefined;
      if (after !== undefined) {
        for (let id = Math.max(after + 1, oldestId()); id <= lastId; id++) {
          const entry = at(id);
          if (entry && matches(entry, filter)) send(entry);
        }
      }
      const subscriber = { filter, send, onClose };
      subscribers.add(subscriber);
      return {
        close() {
          subscribers.delete(subscriber);
        },
      };
    },
    subscribers: () => subscribers.size,
    stats(windowMinutes) {
      const now = clock();
      const last = Math.floor(now.getTime() / MINUTE_MS);
      const first = last - windowMinutes + 1;
      const total: Bucket[] = [];
      const perOrg = new Map<string, Array<Bucket | undefined>>();
      for (let m = first; m <= last; m++) {
        const orgs = minutes.get(m);
        const minuteTotal = newBucket();
        if (orgs) {
          for (const [org, bucket] of orgs) {
            addInto(minuteTotal, bucket);
            let row = perOrg.get(org);
            if (!row) {
              row = new Array(windowMinutes).fill(undefined);
              perOrg.set(org, row);
            }
            row[m - first] = bucket;
          }
        }
        total.push(minuteTotal);
      }
      const totalSummary = summarise(
        total.map((b) => (b.requests > 0 ? b : undefined)),
        first,
      );
      return {
        minutes: windowMinutes,
        from: new Date(first * MINUTE_MS).toISOString(),
        to: now.toISOString(),
        total: totalSummary,
        organisations: [...perOrg]
          .map(([org, row]) => ({ org_id: org === '' ? null : org, ...summarise(row, first) }))
          .sort((a, b) => b.requests - a.requests || String(a.org_id).localeCompare(String(b.org_id))),
        denials_by_reason: Object.entries(totalSummary.denials_by_reason)
          .map(([reason, count]) => ({ reason, count }))
          .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      };
    },
    flush,
    async close() {
      if (closed) return flushing;
      closed = true;
      unfollow();
      clearInterval(timer);
      for (const subscriber of [...subscribers]) {
        subscribers.delete(subscriber);
        subscriber.onClose();
      }
      await flush();
    },
  };
}
