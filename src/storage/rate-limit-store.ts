import { type Kysely, PostgresAdapter, sql } from 'kysely';
import {
  admits,
  admitted,
  emissionInterval,
  GCRA_EPSILON_MS,
  refused,
  takeAll,
  uncounted,
} from '../shared/rate-limit/gcra.ts';
import {
  checkTakeAllArguments,
  checkTakeArguments,
  type RateLimitStore,
  type RateLimitTake,
  type RateLimitTakeRequest,
} from '../shared/rate-limit/index.ts';
import type { Database } from './schema.ts';

/** How often, at most, a node deletes counters whose quota is whole again (on its next take). */
const PRUNE_INTERVAL_MS = 60_000;

const double = (value: number) => sql`CAST(${value} AS double precision)`;

/**
 * Rate-limit counters on the platform database (PostgreSQL or SQLite), shared by every node on it.
 *
 * One limit is one statement: insert the key, or move its TAT on only if the result stays within the window
 * (GCRA, `shared/rate-limit/gcra.ts`). The row lock of the upsert (PostgreSQL re-evaluates the condition on the
 * latest row; SQLite has one writer) makes concurrent takes on any node count each other. A refusal returns
 * no row, and its retry time is read after.
 *
 * Several limits (all or nothing):
 * - PostgreSQL: one call of `accredit_rate_limit_take_all` (migration 0035), one round trip. In its statement's
 *   transaction, an upsert that rewrites each row with its own value locks every key (and creates the missing
 *   ones) in key order, returning the newest TATs; only if every key admits are the new TATs written.
 *   Concurrent takes wait on the row locks, always taken in the same order, so they serialise without deadlock.
 * - SQLite: one statement (SQLite runs one writer at a time, and a statement reads under its write lock): the
 *   upsert of every new TAT whose SELECT yields rows only if no key would exceed its window.
 */
export function createStorageRateLimitStore(
  db: Kysely<Database>,
  options: { now?: () => number } = {},
): RateLimitStore {
  const now = options.now ?? Date.now;
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  let pruneAt = 0;

  async function prune(t: number): Promise<void> {
    if (t < pruneAt) return;
    pruneAt = t + PRUNE_INTERVAL_MS;
    if (postgres) {
      // Rows a take holds are skipped (next time): a prune never waits on, nor deadlocks with, a take.
      await sql`DELETE FROM rate_limit_counters WHERE key IN (
        SELECT key FROM rate_limit_counters WHERE tat < ${double(t)} FOR UPDATE SKIP LOCKED)`.execute(db);
    } else {
      await db.deleteFrom('rate_limit_counters').where('tat', '<', t).execute();
    }
  }

  async function takeOne(key: string, quota: number, windowMs: number, t: number): Promise<RateLimitTake> {
    const interval = emissionInterval(quota, windowMs);
    const nowValue = double(t);
    const base = sql`(CASE WHEN rate_limit_counters.tat > ${nowValue} THEN rate_limit_counters.tat ELSE ${nowValue} END)`;
    const step = double(interval);
    const limit = double(windowMs + GCRA_EPSILON_MS);
    const result = await sql<{ tat: number | string }>`
      INSERT INTO rate_limit_counters (key, tat) VALUES (${key}, ${nowValue} + ${step})
      ON CONFLICT (key) DO UPDATE SET tat = ${base} + ${step}
      WHERE ${base} + ${step} - ${nowValue} <= ${limit}
      RETURNING tat`.execute(db);
    const row = result.rows[0];
    if (row !== undefined) return admitted(Number(row.tat), t, windowMs, interval);
    const held = await db
      .selectFrom('rate_limit_counters')
      .select('tat')
      .where('key', '=', key)
      .executeTakeFirst();
    return refused(held === undefined ? t : Number(held.tat), t, windowMs, interval);
  }

  async function takeAllPostgres(
    requests: readonly RateLimitTakeRequest[],
    t: number,
  ): Promise<RateLimitTake[]> {
    // One round trip: the function of migration 0035 locks the keys in key order, decides, and writes only if
    // every key admits (GCRA there in SQL, the same arithmetic as gcra.ts).
    const steps = requests.map((r) => emissionInterval(r.quota, r.windowMs));
    const result = await sql<{ out_admitted: boolean; out_key: string; out_tat: number | string }>`
      SELECT out_admitted, out_key, out_tat FROM accredit_rate_limit_take_all(
        ${requests.map((r) => r.key)}::text[],
        ${steps}::double precision[],
        ${requests.map((r) => r.windowMs + GCRA_EPSILON_MS)}::double precision[],
        ${t}::double precision)`.execute(db);
    const rows = new Map(result.rows.map((row) => [row.out_key, row]));
    return requests.map((r, i) => {
      const row = rows.get(r.key);
      if (row === undefined) throw new Error('rate limit take: a key is missing from the answer');
      const tat = Number(row.out_tat);
      const interval = steps[i] as number;
      if (row.out_admitted) return admitted(tat, t, r.windowMs, interval);
      // Refused: `tat` is the key's current base; a key with room was not counted.
      return admits(tat + interval, t, r.windowMs)
        ? uncounted(tat, t, r.windowMs, interval)
        : refused(tat, t, r.windowMs, interval);
    });
  }

  async function takeAllSqlite(
    requests: readonly RateLimitTakeRequest[],
    t: number,
  ): Promise<RateLimitTake[]> {
    const nowValue = double(t);
    const values = requests.map(
      (r) =>
        sql`(${r.key}, ${double(emissionInterval(r.quota, r.windowMs))}, ${double(r.windowMs + GCRA_EPSILON_MS)})`,
    );
    const result = await sql<{ key: string; tat: number | string }>`
      WITH v (key, step, lim) AS (VALUES ${sql.join(values)}),
      cur AS (
        SELECT v.key, v.step, v.lim,
          CASE WHEN c.tat IS NOT NULL AND c.tat > ${nowValue} THEN c.tat ELSE ${nowValue} END AS base
        FROM v LEFT JOIN rate_limit_counters c ON c.key = v.key)
      INSERT INTO rate_limit_counters (key, tat)
      SELECT key, base + step FROM cur
      WHERE NOT EXISTS (SELECT 1 FROM cur WHERE base + step - ${nowValue} > lim)
      ON CONFLICT (key) DO UPDATE SET tat = excluded.tat
      RETURNING key, tat`.execute(db);
    if (result.rows.length === requests.length) {
      const tats = new Map(result.rows.map((row) => [row.key, Number(row.tat)]));
      return requests.map((r) =>
        admitted(tats.get(r.key) as number, t, r.windowMs, emissionInterval(r.quota, r.windowMs)),
      );
    }
    // Refused: nothing was written; the TATs are read for the answer (retry time, what is left).
    const held = await db
      .selectFrom('rate_limit_counters')
      .select(['key', 'tat'])
      .where(
        'key',
        'in',
        requests.map((r) => r.key),
      )
      .execute();
    const tats = new Map(held.map((row) => [row.key, Number(row.tat)]));
    const decided = takeAll(
      requests.map((r) => tats.get(r.key)),
      t,
      requests,
    );
    if (decided.tats === undefined) return decided.takes;
    // Another node took in between: the statement saw no room, so at the statement's time some key refused.
    return requests.map((r) =>
      refused(tats.get(r.key) ?? t, t, r.windowMs, emissionInterval(r.quota, r.windowMs)),
    );
  }

  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      const t = now();
      await prune(t);
      return takeOne(key, quota, windowMs, t);
    },
    async takeAll(requests) {
      checkTakeAllArguments(requests);
      const t = now();
      await prune(t);
      if (requests.length === 1) {
        const [only] = requests as [RateLimitTakeRequest];
        return [await takeOne(only.key, only.quota, only.windowMs, t)];
      }
      return postgres ? takeAllPostgres(requests, t) : takeAllSqlite(requests, t);
    },
    // The database handle belongs to the platform's storage, which closes it.
    async close() {},
  };
}
