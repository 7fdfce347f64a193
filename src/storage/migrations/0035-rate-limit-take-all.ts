import { type Kysely, sql } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Rate limits (issue 16), storage: a request's limits taken all or nothing on PostgreSQL in one round trip. The
 * function locks every key in key order (an upsert that rewrites a row with its own TAT returns the newest one
 * and holds its lock until the statement's transaction ends; a missing key is created at TAT 0, its whole
 * quota), decides GCRA on the locked TATs, and moves every TAT on only if every key admits. Concurrent calls
 * wait on the row locks, always taken in the same order: no deadlock. Out: per key, in the order given, whether
 * the request was admitted and the TAT (the new one when admitted, else the current base max(TAT, now)).
 * SQLite needs no function: one INSERT … SELECT statement does it there (storage/rate-limit-store.ts).
 */
export function rateLimitTakeAllMigration(engine: Engine) {
  return {
    async up(db: AnyDb): Promise<void> {
      if (engine !== 'postgres') return;
      await sql`
        CREATE FUNCTION accredit_rate_limit_take_all(
          p_keys text[], p_steps double precision[], p_limits double precision[], p_now double precision)
        RETURNS TABLE (out_admitted boolean, out_key text, out_tat double precision)
        LANGUAGE plpgsql AS $fn$
        DECLARE
          n integer := coalesce(array_length(p_keys, 1), 0);
          bases double precision[] := array_fill(0::double precision, ARRAY[n]);
          held double precision;
          ok boolean := true;
          i integer;
        BEGIN
          FOR i IN SELECT o.idx FROM unnest(p_keys) WITH ORDINALITY AS o(k, idx) ORDER BY o.k LOOP
            INSERT INTO rate_limit_counters AS c (key, tat) VALUES (p_keys[i], 0)
              ON CONFLICT (key) DO UPDATE SET tat = c.tat
              RETURNING c.tat INTO held;
            bases[i] := greatest(held, p_now);
            IF bases[i] + p_steps[i] - p_now > p_limits[i] THEN ok := false; END IF;
          END LOOP;
          FOR i IN 1..n LOOP
            out_key := p_keys[i];
            out_admitted := ok;
            IF ok THEN
              out_tat := bases[i] + p_steps[i];
              UPDATE rate_limit_counters AS c SET tat = out_tat WHERE c.key = p_keys[i];
            ELSE
              out_tat := bases[i];
            END IF;
            RETURN NEXT;
          END LOOP;
        END
        $fn$`.execute(db);
    },
  };
}
