import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Dynamic Client Registration (RFC 7591/7592) with software statements: the statements the directory issued
 * (one use each, by jti) and the clients registered with them, with their hashed registration access token.
 */
export const dynamicRegistrationMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('software_statements')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('software_id', 'text', (c) => c.notNull().references('applications.client_id'))
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('issued_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .addColumn('used_by_client_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('software_statements_software_idx')
      .on('software_statements')
      .column('software_id')
      .execute();
    await db.schema
      .createTable('dynamic_registrations')
      .addColumn('client_id', 'text', (c) => c.primaryKey().references('applications.client_id'))
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('software_id', 'text', (c) => c.notNull().references('applications.client_id'))
      .addColumn('ssa_jti', 'text', (c) => c.notNull())
      .addColumn('registration_token_hash', 'text', (c) => c.notNull())
      .addColumn('token_rotated_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('dynamic_registrations_software_idx')
      .on('dynamic_registrations')
      .column('software_id')
      .execute();
  },
};
