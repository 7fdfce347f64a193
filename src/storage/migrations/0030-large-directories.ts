import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Large directories (issue 16): the indexes the keyset-paged lists read by — every list walks an index in
 * its page order from the cursor, never OFFSET and never a sort of the whole table — and the external
 * references that make a bulk import idempotent (a re-run skips what an earlier run created).
 */
export const largeDirectoriesMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema.alterTable('organisations').addColumn('external_ref', 'text').execute();
    await db.schema.alterTable('applications').addColumn('external_ref', 'text').execute();
    // Several NULLs are allowed by a UNIQUE index on both engines: only imported rows carry a reference.
    await db.schema
      .createIndex('organisations_external_ref_unique')
      .on('organisations')
      .column('external_ref')
      .unique()
      .execute();
    await db.schema
      .createIndex('applications_external_ref_unique')
      .on('applications')
      .columns(['org_id', 'external_ref'])
      .unique()
      .execute();
    // Page orders: (created_at, id) everywhere, per organisation where the list is filtered by one.
    await db.schema
      .createIndex('organisations_page_idx')
      .on('organisations')
      .columns(['created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('applications_page_idx')
      .on('applications')
      .columns(['created_at', 'client_id'])
      .execute();
    await db.schema
      .createIndex('applications_org_page_idx')
      .on('applications')
      .columns(['org_id', 'created_at', 'client_id'])
      .execute();
    await db.schema
      .createIndex('certificates_page_idx')
      .on('certificates')
      .columns(['created_at', 'serial'])
      .execute();
    await db.schema
      .createIndex('certificates_client_page_idx')
      .on('certificates')
      .columns(['client_id', 'created_at', 'serial'])
      .execute();
    await db.schema
      .createIndex('certificates_org_page_idx')
      .on('certificates')
      .columns(['org_id', 'created_at', 'serial'])
      .execute();
    await db.schema
      .createIndex('certificates_expiry_page_idx')
      .on('certificates')
      .columns(['not_after', 'serial'])
      .execute();
  },
};
