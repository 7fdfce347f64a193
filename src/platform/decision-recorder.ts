import { hostname } from 'node:os';
import { type Selectable, sql } from 'kysely';
import type { Logger } from 'pino';
import { type DecisionRecord, decisionLineFields, decisionRecordOf } from '../gateway/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Database, Storage } from '../storage/index.ts';
import type { DecisionTaps } from './decision-taps.ts';

/** A decision as the console sees it: the tap's record, when it was made and its place in the shared log. */
export interface RecordedDecision extends DecisionRecord {
  /** The row id in `decision_lines`: increasing in commit order across every node (SSE event id, `before`). */
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
  /** Decisions counted here whose lines were not kept (over a node's lines-per-second cap). */
  lines_dropped: number;
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
  /** Newest first, at most `limit`, older than `before` when given — every node's decisions. */
  list(filter: DecisionFilter, limit: number, before?: number): Promise<DecisionPage>;
  /**
   * Calls `send` for every matching decision any node records from now on (first those after `after` still
   * held, at most REPLAY_MAX). Undefined when the maximum number of subscribers is reached.
   */
  subscribe(
    filter: DecisionFilter,
    send: (entry: RecordedDecision) => void,
    options: { after?: number | undefined; onClose: () => void },
  ): Promise<DecisionSubscription | undefined>;
  subscribers(): number;
  /** Every node's traffic over the last `minutes` minutes. */
  stats(minutes: number): Promise<DecisionStats>;
  /**
   * Takes decisions another enforcement point made (a standalone gateway's pushed batch, `at` checked by the
   * caller) as if this node's taps had seen them: the same cap, aggregates and flush.
   */
  ingest(decisions: ReadonlyArray<{ entry: DecisionRecord; at: number }>, from: string): void;
  /** Decision lines this node did not keep since it started (over the per-second cap or the pending bound). */
  dropped(): number;
  /** Writes the buffered lines and aggregates, and the pending last-seen times to `client_activity`. */
  flush(): Promise<void>;
  /** Deletes lines older than the retention or beyond the row cap, and minute rows older than a day. */
  prune(): Promise<void>;
  /** Stops following the taps, ends every subscriber and flushes. */
  close(): Promise<void>;
}

export interface DecisionRecorderOptions {
  taps: DecisionTaps;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** This node's name on its lines (default host:pid). */
  node?: string;
  /** Lines kept per second by this node (denials first); the rest are counted only. */
  maxLinesPerSecond?: number;
  maxSubscribers?: number;
  /** How often buffered lines and aggregates are written (ms). */
  flushMs?: number;
  /** How often client last-seen times are written (ms). */
  activityFlushMs?: number;
  /** How often SSE streams look for new lines (ms). */
  pollMs?: number;
  /** How long lines are kept (ms). */
  retentionMs?: number;
  /** At most this many lines are kept in the table (all nodes together). */
  maxLines?: number;
  /** How often retention is applied (ms). */
  pruneMs?: number;
}

export const DEFAULT_MAX_SUBSCRIBERS = 16;
export const DEFAULT_MAX_LINES_PER_SECOND = 1_000;
export const DEFAULT_MAX_LINES = 2_000_000;
/** At most this many lines are replayed to a stream resuming after Last-Event-ID (the newest of them). */
export const REPLAY_MAX = 1_000;
const FLUSH_MS = 1_000;
const ACTIVITY_FLUSH_MS = 30_000;
const POLL_MS = 500;
const PRUNE_MS = 60_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const KEEP_MINUTES = 24 * 60;
const UPSERT_CHUNK = 200;
const INSERT_CHUNK = 500;
const POLL_BATCH = 1_000;
const POLL_BATCHES = 10;
/** Serialises line inserts on PostgreSQL so ids commit in order and a stream following by id misses none. */
const LINES_LOCK = 727274034;
/** Upper bounds (ms) of the latency histogram's buckets; the last one catches everything above. */
export const LATENCY_BOUNDS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000,
];
/** The minute table's histogram columns, one per bucket (h00 … h22). */
const HISTOGRAM_COLUMNS = Array.from(
  { length: LATENCY_BOUNDS_MS.length + 1 },
  (_, i) => `h${String(i).padStart(2, '0')}` as const,
) as Array<`h${string}`>;

interface Bucket {
  requests: number;
  denials: number;
  dropped: number;
  reasons: Map<string, number>;
  histogram: Uint32Array;
}

const newBucket = (): Bucket => ({
  requests: 0,
  denials: 0,
  dropped: 0,
  reasons: new Map(),
  histogram: new Uint32Array(LATENCY_BOUNDS_MS.length + 1),
});

function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= (LATENCY_BOUNDS_MS[i] as number)) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** The upper bound of the bucket holding the q-quantile (the last finite bound for the overflow bucket). */
export function quantileOf(histogram: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i] as number;
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
  target.dropped += source.dropped;
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
  last_seen_at: number;
  last_allowed_at: number | null;
}

/** A decision as the tap gave it and when (epoch ms): the hot path builds nothing else. */
interface Line {
  entry: DecisionRecord;
  ms: number;
  /** Who decided, when not this node (a standalone gateway that pushed its decisions). */
  node?: string;
}

/** A decision line as read back (every column but the node's name). */
type LineRow = Omit<Selectable<Database['decision_lines']>, 'node'>;

const LINE_COLUMNS = [
  'id',
  'at',
  'door',
  'decision',
  'reason',
  'status',
  'method',
  'route',
  'path',
  'client_id',
  'org_id',
  'jti',
  'cert_subject',
  'cert_x5t_s256',
  'request_id',
  'latency_ms',
] as const;

function recordedOf(row: LineRow): RecordedDecision {
  return { id: Number(row.id), at: row.at, ...decisionRecordOf(row) };
}

const bucketKey = (minute: number, org: string, door: string) => `${minute}\u0000${door}\u0000${org}`;

/**
 * The decision log and traffic charts, shared by every node through the platform database (issue 16).
 *
 * The taps call in synchronously on the request path, so a decision only goes into memory: the line (the
 * tap's own object and a timestamp; at most `maxLinesPerSecond` per second are kept, denials first, the rest
 * counted as dropped) and the (minute, organisation, door) aggregate it adds to. About once a second a flusher
 * writes the lines in one multi-row insert and adds the aggregates to the shared minute rows (upserts), in one
 * transaction; a failed write is retried at the next flush. Lists, stats and streams read the shared tables,
 * so any node answers for all of them; streams follow new rows by id (one poll per node, every `pollMs`).
 */
export function startDecisionRecorder(options: DecisionRecorderOptions): DecisionRecorder {
  const { storage, clock, logger } = options;
  const db = storage.db;
  const node = options.node ?? `${hostname()}:${process.pid}`;
  const cap = options.maxLinesPerSecond ?? DEFAULT_MAX_LINES_PER_SECOND;
  const maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
  const retentionMs = options.retentionMs ?? DAY_MS;
  const maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
  /** Lines waiting for a write that keeps failing: the oldest go beyond this (a minute at the cap). */
  const maxPending = cap * 60;

  // --- in memory, filled on the request path ---
  let windowSecond = -1;
  let windowDenials = 0;
  let windowAllowed = 0;
  /** Lines of this second already moved on (to `pending`), which the cap counts. */
  let windowMoved = 0;
  let window: Line[] = [];
  let pending: Line[] = [];
  let buckets = new Map<string, { minute: number; org: string; door: string; bucket: Bucket }>();
  let activity = new Map<string, Seen>();
  let droppedTotal = 0;

  function bucketFor(ms: number, entry: DecisionRecord) {
    const minute = Math.floor(ms / MINUTE_MS);
    const org = entry.org_id ?? '';
    const door = entry.door ?? 'gateway';
    const key = bucketKey(minute, org, door);
    let slot = buckets.get(key);
    if (!slot) {
      slot = { minute, org, door, bucket: newBucket() };
      buckets.set(key, slot);
    }
    return slot.bucket;
  }

  function drop(line: Line): void {
    droppedTotal += 1;
    bucketFor(line.ms, line.entry).dropped += 1;
  }

  /** Moves the current second's lines on to `pending`, keeping at most `cap` per second (denials first). */
  function moveWindow(): void {
    if (window.length > 0) {
      const budget = Math.max(0, cap - windowMoved);
      const excess = window.length - budget;
      if (excess > 0) {
        // Newest allowed lines go first, then (only when denials alone exceed the cap) the newest denials;
        // one pass from the newest, the order of the kept lines unchanged.
        let allowed = 0;
        for (const line of window) if (line.entry.decision === 'allow') allowed += 1;
        let dropAllowed = Math.min(excess, allowed);
        let dropDenied = excess - dropAllowed;
        const kept: Line[] = [];
        for (let i = window.length - 1; i >= 0; i--) {
          const line = window[i] as Line;
          const over = line.entry.decision === 'allow' ? dropAllowed-- > 0 : dropDenied-- > 0;
          if (over) drop(line);
          else kept.push(line);
        }
        window = kept.reverse();
      }
      windowMoved += window.length;
      for (const line of window) pending.push(line);
      window = [];
    }
    if (pending.length > maxPending)
      for (const line of pending.splice(0, pending.length - maxPending)) drop(line);
  }

  /** One decision into memory: its line (under this second's cap, by arrival) and its aggregates. */
  function accept(entry: DecisionRecord, ms: number, arrivedMs: number, from?: string): void {
    const second = Math.floor(arrivedMs / 1000);
    if (second !== windowSecond) {
      moveWindow();
      windowSecond = second;
      windowDenials = 0;
      windowAllowed = 0;
      windowMoved = 0;
    }
    const line: Line = from === undefined ? { entry, ms } : { entry, ms, node: from };
    if (entry.decision === 'deny' ? windowDenials++ < cap : windowAllowed++ < cap) window.push(line);
    else drop(line);
    const bucket = bucketFor(ms, entry);
    bucket.requests += 1;
    if (entry.decision === 'deny') {
      bucket.denials += 1;
      bucket.reasons.set(entry.reason, (bucket.reasons.get(entry.reason) ?? 0) + 1);
    }
    const index = bucketIndex(Number.isFinite(entry.latency_ms) ? entry.latency_ms : 0);
    bucket.histogram[index] = (bucket.histogram[index] as number) + 1;
    if (entry.client_id) {
      const previous = activity.get(entry.client_id);
      if (previous && previous.last_seen_at > ms) return;
      activity.set(entry.client_id, {
        org_id: entry.org_id ?? previous?.org_id ?? null,
        last_seen_at: ms,
        last_allowed_at: entry.decision === 'allow' ? ms : (previous?.last_allowed_at ?? null),
      });
    }
  }

  const unfollow = options.taps.add((entry) => {
    const ms = clock().getTime();
    accept(entry, ms, ms);
  });

  // --- writing ---
  const rowOf = (line: Line) => ({
    at: new Date(line.ms).toISOString(),
    node: line.node ?? node,
    ...decisionLineFields(line.entry),
  });

  async function writeDecisions(): Promise<void> {
    moveWindow();
    if (pending.length === 0 && buckets.size === 0) return;
    const lines = pending;
    const slots = buckets;
    pending = [];
    buckets = new Map();
    try {
      await storage.transaction(async (tx) => {
        if (tx.engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(${LINES_LOCK})`.execute(tx.db);
        for (let i = 0; i < lines.length; i += INSERT_CHUNK) {
          await tx.db
            .insertInto('decision_lines')
            .values(lines.slice(i, i + INSERT_CHUNK).map(rowOf))
            .execute();
        }
        const minuteRows = [...slots.values()].map(({ minute, org, door, bucket }) => {
          const row: Record<string, number | string> = {
            minute,
            org_id: org,
            door,
            requests: bucket.requests,
            denials: bucket.denials,
            dropped: bucket.dropped,
          };
          HISTOGRAM_COLUMNS.forEach((column, i) => {
            row[column] = bucket.histogram[i] as number;
          });
          return row;
        });
        for (let i = 0; i < minuteRows.length; i += UPSERT_CHUNK) {
          await tx.db
            .insertInto('decision_minutes')
            .values(minuteRows.slice(i, i + UPSERT_CHUNK) as never)
            .onConflict((oc) =>
              oc.columns(['minute', 'org_id', 'door']).doUpdateSet(() => {
                const set: Record<string, unknown> = {};
                for (const column of ['requests', 'denials', 'dropped', ...HISTOGRAM_COLUMNS]) {
                  set[column] = sql`decision_minutes.${sql.ref(column)} + excluded.${sql.ref(column)}`;
                }
                return set as never;
              }),
            )
            .execute();
        }
        const reasonRows = [...slots.values()].flatMap(({ minute, org, door, bucket }) =>
          [...bucket.reasons].map(([reason, count]) => ({ minute, org_id: org, door, reason, count })),
        );
        for (let i = 0; i < reasonRows.length; i += UPSERT_CHUNK) {
          await tx.db
            .insertInto('decision_minute_reasons')
            .values(reasonRows.slice(i, i + UPSERT_CHUNK))
            .onConflict((oc) =>
              oc
                .columns(['minute', 'org_id', 'door', 'reason'])
                .doUpdateSet({ count: sql`decision_minute_reasons.count + excluded.count` }),
            )
            .execute();
        }
      });
    } catch (err) {
      // Put everything back (older lines before newer ones) and try again at the next flush.
      pending = lines.concat(pending);
      if (pending.length > maxPending) {
        for (const line of pending.splice(0, pending.length - maxPending)) drop(line);
      }
      for (const [key, slot] of slots) {
        const current = buckets.get(key);
        if (current) addInto(current.bucket, slot.bucket);
        else buckets.set(key, slot);
      }
      logger.error({ err }, 'writing the decision log failed');
    }
  }

  async function writeActivity(): Promise<void> {
    if (activity.size === 0) return;
    const batch = activity;
    activity = new Map();
    const rows = [...batch].map(([client_id, seen]) => ({
      client_id,
      org_id: seen.org_id,
      last_seen_at: new Date(seen.last_seen_at).toISOString(),
      last_allowed_at: seen.last_allowed_at === null ? null : new Date(seen.last_allowed_at).toISOString(),
    }));
    try {
      for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
        await db
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
      for (const [clientId, seen] of batch) if (!activity.has(clientId)) activity.set(clientId, seen);
      logger.error({ err }, 'writing client activity failed');
    }
  }

  let writing: Promise<void> = Promise.resolve();
  const serially = (work: () => Promise<void>): Promise<void> => {
    writing = writing.then(work, work);
    return writing;
  };
  const flushDecisions = () => serially(writeDecisions);
  const flush = () =>
    serially(async () => {
      await writeDecisions();
      await writeActivity();
    });

  async function prune(): Promise<void> {
    const now = clock().getTime();
    try {
      await db
        .deleteFrom('decision_lines')
        .where('at', '<', new Date(now - retentionMs).toISOString())
        .execute();
      const newest = await db
        .selectFrom('decision_lines')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      const newestId = Number(newest?.id ?? 0);
      if (newestId > maxLines)
        await db
          .deleteFrom('decision_lines')
          .where('id', '<=', newestId - maxLines)
          .execute();
      const oldestMinute = Math.floor(now / MINUTE_MS) - KEEP_MINUTES;
      await db.deleteFrom('decision_minutes').where('minute', '<', oldestMinute).execute();
      await db.deleteFrom('decision_minute_reasons').where('minute', '<', oldestMinute).execute();
    } catch (err) {
      logger.error({ err }, 'pruning the decision log failed');
    }
  }

  const timers = [
    setInterval(() => void flushDecisions(), options.flushMs ?? FLUSH_MS),
    setInterval(() => void serially(writeActivity), options.activityFlushMs ?? ACTIVITY_FLUSH_MS),
    setInterval(() => void prune(), options.pruneMs ?? PRUNE_MS),
  ];
  for (const timer of timers) timer.unref();

  // --- reading ---
  function filtered(filter: DecisionFilter) {
    let q = db.selectFrom('decision_lines').select(LINE_COLUMNS);
    if (filter.decision !== undefined) q = q.where('decision', '=', filter.decision);
    if (filter.reason !== undefined) q = q.where('reason', '=', filter.reason);
    if (filter.org_id !== undefined) q = q.where('org_id', '=', filter.org_id);
    if (filter.client_id !== undefined) q = q.where('client_id', '=', filter.client_id);
    if (filter.door !== undefined) q = q.where('door', '=', filter.door);
    return q;
  }

  async function newestId(): Promise<number> {
    const row = await db
      .selectFrom('decision_lines')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  interface Subscriber {
    filter: DecisionFilter;
    send: (entry: RecordedDecision) => void;
    onClose: () => void;
    /** Lines up to this id were delivered (or skipped); undefined until set up. */
    cursor: number | undefined;
  }
  const subscribers = new Set<Subscriber>();
  let closed = false;
  /** The newest id the streams have seen; undefined while no stream follows (it is read again then). */
  let head: number | undefined;
  let following: Promise<void> = Promise.resolve();
  const followSerially = (work: () => Promise<void>): Promise<void> => {
    following = following.then(work, work);
    return following;
  };

  function deliver(subscriber: Subscriber, entry: RecordedDecision): void {
    if (!matches(entry, subscriber.filter)) return;
    try {
      subscriber.send(entry);
    } catch {
      // A broken stream ends through its own close handler.
    }
  }

  async function poll(): Promise<void> {
    const ready = [...subscribers].filter((s) => s.cursor !== undefined);
    if (ready.length === 0 || head === undefined) return;
    try {
      // A few batches a poll: several nodes at their cap write more than one batch in half a second.
      for (let batch = 0; batch < POLL_BATCHES; batch++) {
        // The last stream may have closed meanwhile (the position is then read again by the next one).
        if (head === undefined) return;
        const rows = (await filtered({})
          .where('id', '>', head)
          .orderBy('id', 'asc')
          .limit(POLL_BATCH)
          .execute()) as LineRow[];
        for (const row of rows) {
          const entry = recordedOf(row);
          for (const subscriber of ready) {
            if (entry.id <= (subscriber.cursor as number) || !subscribers.has(subscriber)) continue;
            deliver(subscriber, entry);
          }
          head = entry.id;
        }
        for (const subscriber of ready) subscriber.cursor = Math.max(subscriber.cursor as number, head);
        if (rows.length < POLL_BATCH) break;
      }
    } catch (err) {
      logger.error({ err }, 'reading the decision log for its streams failed');
    }
  }

  let pollTimer: NodeJS.Timeout | undefined;
  function updatePolling(): void {
    if (subscribers.size > 0 && !pollTimer && !closed) {
      pollTimer = setInterval(() => void followSerially(poll), options.pollMs ?? POLL_MS);
      pollTimer.unref();
    } else if (subscribers.size === 0 && pollTimer) {
      clearInterval(pollTimer);
      pollTimer = undefined;
      head = undefined;
    }
  }

  async function stats(windowMinutes: number): Promise<DecisionStats> {
    await flushDecisions();
    const now = clock();
    const last = Math.floor(now.getTime() / MINUTE_MS);
    const first = last - windowMinutes + 1;
    const rows = await db
      .selectFrom('decision_minutes')
      .select((eb) => [
        'minute',
        'org_id',
        eb.fn.sum<number | string>('requests').as('requests'),
        eb.fn.sum<number | string>('denials').as('denials'),
        eb.fn.sum<number | string>('dropped').as('dropped'),
        ...HISTOGRAM_COLUMNS.map((c) => eb.fn.sum<number | string>(c as 'h00').as(c)),
      ])
      .where('minute', '>=', first)
      .where('minute', '<=', last)
      .groupBy(['minute', 'org_id'])
      .execute();
    const reasons = await db
      .selectFrom('decision_minute_reasons')
      .select((eb) => ['org_id', 'reason', eb.fn.sum<number | string>('count').as('count')])
      .where('minute', '>=', first)
      .where('minute', '<=', last)
      .groupBy(['org_id', 'reason'])
      .execute();
    // organisation ('' = none) → one bucket per minute of the window
    const perOrg = new Map<string, Array<Bucket | undefined>>();
    const total: Bucket[] = Array.from({ length: windowMinutes }, newBucket);
    for (const row of rows as Array<Record<string, number | string>>) {
      const org = String(row.org_id);
      const bucket = newBucket();
      bucket.requests = Number(row.requests);
      bucket.denials = Number(row.denials);
      bucket.dropped = Number(row.dropped);
      HISTOGRAM_COLUMNS.forEach((c, i) => {
        bucket.histogram[i] = Number(row[c]);
      });
      let series = perOrg.get(org);
      if (!series) {
        series = new Array(windowMinutes).fill(undefined);
        perOrg.set(org, series);
      }
      const index = Number(row.minute) - first;
      series[index] = bucket;
      addInto(total[index] as Bucket, bucket);
    }
    const reasonsOf = new Map<string, Map<string, number>>();
    for (const row of reasons) {
      let map = reasonsOf.get(row.org_id);
      if (!map) {
        map = new Map();
        reasonsOf.set(row.org_id, map);
      }
      map.set(row.reason, Number(row.count));
    }
    const summarise = (buckets: Array<Bucket | undefined>, byReason: Map<string, number>): TrafficSummary => {
      const sum = newBucket();
      const series: MinutePoint[] = buckets.map((b, i) => {
        if (b) addInto(sum, b);
        const seen = b !== undefined && b.requests > 0;
        return {
          minute: new Date((first + i) * MINUTE_MS).toISOString(),
          requests: b?.requests ?? 0,
          denials: b?.denials ?? 0,
          p50_ms: seen ? quantileOf(b.histogram, 0.5) : null,
          p95_ms: seen ? quantileOf(b.histogram, 0.95) : null,
        };
      });
      return {
        requests: sum.requests,
        denials: sum.denials,
        p50_ms: quantileOf(sum.histogram, 0.5),
        p95_ms: quantileOf(sum.histogram, 0.95),
        denials_by_reason: Object.fromEntries(
          [...byReason].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
        ),
        lines_dropped: sum.dropped,
        series,
      };
    };
    const allReasons = new Map<string, number>();
    for (const map of reasonsOf.values()) {
      for (const [reason, n] of map) allReasons.set(reason, (allReasons.get(reason) ?? 0) + n);
    }
    const totalSummary = summarise(total, allReasons);
    return {
      minutes: windowMinutes,
      from: new Date(first * MINUTE_MS).toISOString(),
      to: now.toISOString(),
      total: totalSummary,
      organisations: [...perOrg]
        .map(([org, series]) => ({
          org_id: org === '' ? null : org,
          ...summarise(series, reasonsOf.get(org) ?? new Map()),
        }))
        .sort((a, b) => b.requests - a.requests || String(a.org_id).localeCompare(String(b.org_id))),
      denials_by_reason: [...allReasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    };
  }

  return {
    async list(filter, limit, before) {
      await flushDecisions();
      let q = filtered(filter);
      if (before !== undefined) q = q.where('id', '<', before);
      const rows = (await q
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute()) as LineRow[];
      const items = rows.slice(0, limit).map(recordedOf);
      return {
        items,
        next_before: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null,
      };
    },
    async subscribe(filter, send, { after, onClose }) {
      if (closed || subscribers.size >= maxSubscribers) return undefined;
      const subscriber: Subscriber = { filter, send, onClose, cursor: undefined };
      // The place is taken now; the stream joins the poll once it is set up (in turn with the polls).
      subscribers.add(subscriber);
      try {
        await followSerially(async () => {
          await flushDecisions();
          head ??= await newestId();
          const upTo = head;
          if (after !== undefined && after < upTo) {
            const rows = (await filtered(filter)
              .where('id', '>', after)
              .where('id', '<=', upTo)
              .orderBy('id', 'desc')
              .limit(REPLAY_MAX)
              .execute()) as LineRow[];
            for (const row of rows.reverse()) deliver(subscriber, recordedOf(row));
          }
          subscriber.cursor = upTo;
        });
      } catch (err) {
        subscribers.delete(subscriber);
        throw err;
      }
      if (closed || !subscribers.has(subscriber)) {
        subscribers.delete(subscriber);
        return undefined;
      }
      updatePolling();
      return {
        close() {
          subscribers.delete(subscriber);
          updatePolling();
        },
      };
    },
    subscribers: () => subscribers.size,
    ingest(decisions, from) {
      if (closed) return;
      const arrived = clock().getTime();
      for (const { entry, at } of decisions) accept(entry, at, arrived, from);
    },
    stats,
    dropped: () => droppedTotal,
    flush,
    prune,
    async close() {
      if (closed) return writing;
      closed = true;
      unfollow();
      for (const timer of timers) clearInterval(timer);
      for (const subscriber of [...subscribers]) {
        subscribers.delete(subscriber);
        subscriber.onClose();
      }
      updatePolling();
      await following;
      await flush();
    },
  };
}
