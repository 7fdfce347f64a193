import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Issuing CA generations. Each issuing CA is `active` (the one that issues), `retiring` (still trusted and
 * publishing its CRL until its certificates expire), `retired` (out of the bundle, key destroyed) or
 * `revoked` (listed on the root's CRL, key destroyed). `crl_url` is the CRL distribution point its
 * certificates carry (null: the original issuing CA's URL). Rows that exist are generation 1 and active.
 */
export const caRotationMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .alterTable('certificate_authorities')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .execute();
    await db.schema
      .alterTable('certificate_authorities')
      .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema.alterTable('certificate_authorities').addColumn('crl_url', 'text').execute();
    await db.schema.alterTable('certificate_authorities').addColumn('status_changed_at', 'text').execute();
    await db.schema.alterTable('certificate_authorities').addColumn('revocation_reason', 'text').execute();
    await db.schema
      .createIndex('certificates_issuer_ca_idx')
      .on('certificates')
      .columns(['issuer_ca_id', 'status', 'not_after'])
      .execute();
  },
};
