import { type Kysely, sql } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Quotas and rate limits (issue 16): the shared counters every node takes from (storage), the limits set per
 * organisation, per application and for the whole catalog (directory), and an operation's own limit.
 */
export function rateLimitsMigration(engine: Engine) {
  return {
    async up(db: AnyDb): Promise<void> {
      // storage: one GCRA counter per key; the theoretical arrival time in epoch milliseconds (fractional).
      await db.schema
        .createTable('rate_limit_counters')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('tat', 'double precision', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('rate_limit_counters_tat')
        .on('rate_limit_counters')
        .column('tat')
        .execute();
      // PostgreSQL: no write-ahead log for counters (a take is then no fsync wait). A crash or a failover to a
      // standby forgets them: every quota starts whole again, which rate limits can afford.
      if (engine === 'postgres') await sql`ALTER TABLE rate_limit_counters SET UNLOGGED`.execute(db);
      // directory: subject_kind catalog (subject_id '*': the catalog-wide default { client?, organisation? }),
      // organisation or application (limits: the rule list that replaces the catalog's for that subject).
      await db.schema
        .createTable('rate_limits')
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rate_limits_pk', ['subject_kind', 'subject_id'])
        .execute();
      // directory: an operation's own limit (JSON { client?, organisation? }), null: the catalog-wide default.
      await db.schema.alterTable('catalog_operations').addColumn('rate_limit', 'text').execute();
    },
  };
}
