import type { Kysely } from 'kysely';
import type { ReplayCache } from '../shared/replay-cache/index.ts';
import type { Database } from './schema.ts';

/** How often, at most, a node deletes expired rows (on its next claim). */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The replay cache on the platform database (PostgreSQL or SQLite): every node sharing the database sees every
 * claim. A claim is one statement — insert, or take over an expired row, or nothing when a live row holds the
 * key — so of two concurrent claims exactly one reports a row (the primary key arbitrates).
 */
export function createStorageReplayCache(
  db: Kysely<Database>,
  options: { now?: () => number } = {},
): ReplayCache {
  const now = options.now ?? Date.now;
  let pruneAt = 0;
  return {
    async claim(key, expiresAtMs) {
      const t = now();
      if (t >= pruneAt) {
        pruneAt = t + PRUNE_INTERVAL_MS;
        await db.deleteFrom('replay_cache').where('expires_at', '<=', t).execute();
      }
      const row = await db
        .insertInto('replay_cache')
        .values({ key, expires_at: Math.ceil(expiresAtMs) })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
            .where('replay_cache.expires_at', '<=', t),
        )
        .returning('key')
        .executeTakeFirst();
      return row !== undefined;
    },
    // The database handle belongs to the platform's storage, which closes it.
    async close() {},
  };
}
