import type { Kysely } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Platform events (issue 13): what happened, in words a partner's or provider's system subscribes to
 * (certificate issued / renewed / revoked / expiring, organisation and application status, registrations,
 * Trust Marks). Relayed from the change feed and raised by monitors; webhooks and Shared Signals streams
 * each follow them with their own cursor in `event_cursors`, so nothing is lost across a restart.
 */
export function platformEventsMigration(engine: Engine) {
  const serial = engine === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable('platform_events')
        .addColumn('seq', serial, (c) =>
          engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text')
        .addColumn('client_id', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        // The change-feed entry it was relayed from: unique, so a relay pass run twice records nothing twice.
        .addColumn('source_seq', 'integer', (c) => c.unique())
        // Raised by a monitor: unique per occurrence (e.g. "certificate 1F… expiring within 7 days").
        .addColumn('dedupe_key', 'text', (c) => c.unique())
        .execute();
      await db.schema.createIndex('platform_events_type').on('platform_events').column('type').execute();
      await db.schema
        .createTable('event_cursors')
        .addColumn('consumer', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
