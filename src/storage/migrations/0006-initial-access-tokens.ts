import { type Kysely, sql } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

// A registration rests on a statement (software_id and ssa_jti together), an initial access token, or both.
const AUTHORITY_CHECK = sql`(software_id IS NULL) = (ssa_jti IS NULL) AND (ssa_jti IS NOT NULL OR iat_id IS NOT NULL)`;

/**
 * SQLite cannot drop NOT NULL from a column: the table is rebuilt as its documentation prescribes (create the
 * new shape, copy every row, drop the old table, rename), inside this migration's transaction. Nothing
 * references dynamic_registrations, so dropping it breaks no foreign key; its index is recreated.
 */
async function rebuildSqlite(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('dynamic_registrations_0006')
    .addColumn('client_id', 'text', (c) => c.primaryKey().references('applications.client_id'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('software_id', 'text', (c) => c.references('applications.client_id'))
    .addColumn('ssa_jti', 'text')
    .addColumn('iat_id', 'text', (c) => c.references('initial_access_tokens.id'))
    .addColumn('registration_token_hash', 'text', (c) => c.notNull())
    .addColumn('token_rotated_at', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('dynamic_registrations_authority', AUTHORITY_CHECK)
    .execute();
  const columns = [
    'client_id',
    'org_id',
    'software_id',
    'ssa_jti',
    'registration_token_hash',
    'token_rotated_at',
    'status',
    'created_at',
    'updated_at',
  ];
  await db
    .insertInto('dynamic_registrations_0006')
    .columns(columns)
    .expression(db.selectFrom('dynamic_registrations').select(columns))
    .execute();
  await db.schema.dropTable('dynamic_registrations').execute();
  await db.schema.alterTable('dynamic_registrations_0006').renameTo('dynamic_registrations').execute();
  await db.schema
    .createIndex('dynamic_registrations_software_idx')
    .on('dynamic_registrations')
    .column('software_id')
    .execute();
}

/** PostgreSQL changes the table in place: constraints, indexes and rows stay as they are. */
async function alterPostgres(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('dynamic_registrations')
    .alterColumn('software_id', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('dynamic_registrations')
    .alterColumn('ssa_jti', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('dynamic_registrations')
    .addColumn('iat_id', 'text', (c) => c.references('initial_access_tokens.id'))
    .execute();
  await db.schema
    .alterTable('dynamic_registrations')
    .addCheckConstraint('dynamic_registrations_authority', AUTHORITY_CHECK)
    .execute();
}

/**
 * Initial access tokens (RFC 7591 §3): bearer tokens an operator issues to let an organisation register
 * clients without a software statement, stored as their SHA-256 with the roles they allow at most, a lifetime
 * and a number of uses. A client registered with one records it in dynamic_registrations.iat_id; such a client
 * has no software statement, so software_id and ssa_jti become nullable. Recording the token on the
 * registration itself (rather than in a side table) keeps one row per dynamically registered client, which
 * RFC 7592 management reads and rotates, without a sentinel statement for clients that have none.
 */
export function initialAccessTokensMigration(engine: Engine) {
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable('initial_access_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('used_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revoked_at', 'text')
        // The conditional claim at registration keeps used_count within max_uses; the database insists too.
        .addCheckConstraint(
          'initial_access_tokens_uses',
          sql`max_uses >= 1 AND used_count BETWEEN 0 AND max_uses`,
        )
        .execute();
      await db.schema
        .createIndex('initial_access_tokens_org_idx')
        .on('initial_access_tokens')
        .column('org_id')
        .execute();
      if (engine === 'postgres') await alterPostgres(db);
      else await rebuildSqlite(db);
      await db.schema
        .createIndex('dynamic_registrations_iat_idx')
        .on('dynamic_registrations')
        .column('iat_id')
        .execute();
    },
  };
}
