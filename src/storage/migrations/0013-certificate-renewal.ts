import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Partner-driven renewal (issue 13): each certificate links to the one it renews, counts the renewals since
 * an operator last reviewed the chain, records its first use at the token endpoint, and — once renewed — when
 * it is to be revoked as superseded (RFC 5280 §5.3.1). Rotation policies per organisation or application.
 */
export const certificateRenewalMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema.alterTable('certificates').addColumn('renews_serial', 'text').execute();
    await db.schema
      .alterTable('certificates')
      .addColumn('renewal_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('certificates').addColumn('first_used_at', 'text').execute();
    await db.schema.alterTable('certificates').addColumn('superseded_by', 'text').execute();
    await db.schema.alterTable('certificates').addColumn('supersede_at', 'text').execute();
    await db.schema.alterTable('certificates').addColumn('renewal_approved_at', 'text').execute();
    await db.schema.alterTable('certificates').addColumn('renewal_approved_by', 'text').execute();
    // The housekeeping sweep reads only the certificates waiting to be superseded.
    await db.schema
      .createIndex('certificates_supersede_idx')
      .on('certificates')
      .column('supersede_at')
      .execute();
    await db.schema
      .createTable('rotation_policies')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('lifetime_days', 'integer')
      .addColumn('key_algorithms', 'text')
      .addColumn('renewals_before_review', 'integer')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('rotation_policies_pk', ['scope', 'subject_id'])
      .execute();
  },
};
