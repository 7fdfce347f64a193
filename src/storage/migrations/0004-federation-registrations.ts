import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Clients registered through OpenID Federation (§12): which Trust Chain holds each one, until when, and
 * through which of the platform's own subordinates (so removing that subordinate ends the registration).
 */
export const federationRegistrationsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('federation_registrations')
      .addColumn('client_id', 'text', (c) => c.primaryKey().references('applications.client_id'))
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('trust_anchor', 'text', (c) => c.notNull())
      .addColumn('authority_hint', 'text', (c) => c.notNull())
      .addColumn('via_subordinate', 'text', (c) => c.notNull())
      .addColumn('trust_mark_types', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('resolved_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('ended_reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('federation_registrations_expiry_idx')
      .on('federation_registrations')
      .columns(['status', 'expires_at'])
      .execute();
    await db.schema
      .createIndex('federation_registrations_via_idx')
      .on('federation_registrations')
      .column('via_subordinate')
      .execute();
  },
};
