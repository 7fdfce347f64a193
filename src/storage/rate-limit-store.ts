import { type Kysely, sql } from 'kysely';
import { admitted, emissionInterval, GCRA_EPSILON_MS, refused } from '../shared/rate-limit/gcra.ts';
import { checkTakeArguments, type RateLimitStore } from '../shared/rate-limit/index.ts';
import type { Database } from './schema.ts';

/** How often, at most, a node deletes counters whose quota is whole again (on its next take). */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Rate-limit counters on the platform database (PostgreSQL or SQLite), shared by every node on it. A take is
 * one statement: insert the key, or move its TAT on only if the result stays within the window (GCRA,
 * `shared/rate-limit/gcra.ts`). The row lock of the upsert (PostgreSQL re-evaluates the condition on the
 * latest row; SQLite has one writer) makes concurrent takes on any node count each other. A refusal returns
 * no row, and its retry time is read after.
 */
export function createStorageRateLimitStore(
  db: Kysely<Database>,
  options: { now?: () => number } = {},
): RateLimitStore {
  const now = options.now ?? Date.now;
  let pruneAt = 0;
  return {
    async take(key, quota, windowMs) {
      checkTakeArguments(key, quota, windowMs);
      const t = now();
      if (t >= pruneAt) {
        pruneAt = t + PRUNE_INTERVAL_MS;
        await db.deleteFrom('rate_limit_counters').where('tat', '<', t).execute();
      }
      const interval = emissionInterval(quota, windowMs);
      const nowValue = sql`CAST(${t} AS double precision)`;
      const base = sql`(CASE WHEN rate_limit_counters.tat > ${nowValue} THEN rate_limit_counters.tat ELSE ${nowValue} END)`;
      const step = sql`CAST(${interval} AS double precision)`;
      const limit = sql`CAST(${windowMs + GCRA_EPSILON_MS} AS double precision)`;
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
    },
    // The database handle belongs to the platform's storage, which closes it.
    async close() {},
  };
}
