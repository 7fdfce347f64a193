import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * OpenID Federation authority: the Immediate Subordinates the platform issues Subordinate Statements about,
 * the Trust Marks it issues, and rotation bookkeeping for signing keys (existing rows stay active, with nulls).
 */
export const federationMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('federation_subordinates')
      .addColumn('entity_id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('is_intermediate', 'integer', (c) => c.notNull())
      .addColumn('entity_types', 'text', (c) => c.notNull())
      .addColumn('jwks', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text')
      .addColumn('metadata_policy', 'text')
      .addColumn('constraints', 'text')
      .addColumn('metadata_policy_crit', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('removed_at', 'text')
      .execute();
    await db.schema
      .createIndex('federation_subordinates_org_idx')
      .on('federation_subordinates')
      .column('org_id')
      .execute();

    await db.schema
      .createTable('federation_trust_marks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('trust_mark_type', 'text', (c) => c.notNull())
      .addColumn('sub', 'text', (c) => c.notNull())
      .addColumn('iat', 'bigint', (c) => c.notNull())
      .addColumn('exp', 'bigint')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('federation_trust_marks_type_sub_idx')
      .on('federation_trust_marks')
      .columns(['trust_mark_type', 'sub'])
      .execute();
    await db.schema
      .createIndex('federation_trust_marks_sub_idx')
      .on('federation_trust_marks')
      .column('sub')
      .execute();

    // SQLite adds one column per ALTER TABLE.
    for (const column of ['retired_at', 'revoked_at', 'revocation_reason']) {
      await db.schema.alterTable('signing_keys').addColumn(column, 'text').execute();
    }
  },
};
