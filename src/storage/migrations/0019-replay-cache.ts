import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * The shared replay cache (issue 14): one row per one-time value (a DPoP proof's `jti`, RFC 9449 §11.1) until it
 * expires. The primary key makes a claim atomic across every node on the database; expired rows are pruned.
 */
export const replayCacheMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('replay_cache')
      .addColumn('key', 'text', (c) => c.primaryKey())
      // Epoch milliseconds; bigint on PostgreSQL (a JavaScript number fits), integer on SQLite.
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('replay_cache_expires').on('replay_cache').column('expires_at').execute();
  },
};
