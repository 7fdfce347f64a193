import { type Kysely, sql } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/** Latency histogram buckets of a minute row: h00 … h22 (the recorder's bounds plus the overflow bucket). */
const HISTOGRAM_COLUMNS = Array.from({ length: 23 }, (_, i) => `h${String(i).padStart(2, '0')}`);

/**
 * The decision log and traffic charts shared by every platform node (issue 16). `decision_lines`: the kept
 * decision lines (each node's recorder appends a batch about once a second; pruned after a day or beyond a
 * row cap). `decision_minutes`: per (minute, organisation, door) counters added to by every node — requests,
 * denials, lines not kept, latency histogram buckets. `decision_minute_reasons`: denials by reason likewise.
 */
export function sharedDecisionsMigration(engine: Engine) {
  const serial = engine === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable('decision_lines')
        .addColumn('id', serial, (c) =>
          engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('door', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('route', 'text')
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('org_id', 'text')
        .addColumn('jti', 'text')
        .addColumn('cert_subject', 'text')
        .addColumn('cert_x5t_s256', 'text')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'double precision', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('decision_lines_at').on('decision_lines').column('at').execute();
      // The go-live check: one client's decisions within a run's time range.
      await db.schema
        .createIndex('decision_lines_client')
        .on('decision_lines')
        .columns(['client_id', 'at'])
        .execute();
      // PostgreSQL: no write-ahead log for the lines (an append is then no WAL write and fsync per batch, and
      // they are not shipped to standbys). A crash or a failover empties the table: the log is an operator's
      // recent view, not a record (the audit log is), and the charts' counters are kept in a logged table.
      if (engine === 'postgres') await sql`ALTER TABLE decision_lines SET UNLOGGED`.execute(db);

      let minutes = db.schema
        .createTable('decision_minutes')
        .addColumn('minute', 'integer', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('door', 'text', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('denials', 'integer', (c) => c.notNull())
        .addColumn('dropped', 'integer', (c) => c.notNull());
      for (const column of HISTOGRAM_COLUMNS) {
        minutes = minutes.addColumn(column, 'integer', (c) => c.notNull().defaultTo(0));
      }
      await minutes.addPrimaryKeyConstraint('decision_minutes_pk', ['minute', 'org_id', 'door']).execute();
      await db.schema
        .createTable('decision_minute_reasons')
        .addColumn('minute', 'integer', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('door', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('decision_minute_reasons_pk', ['minute', 'org_id', 'door', 'reason'])
        .execute();
    },
  };
}
