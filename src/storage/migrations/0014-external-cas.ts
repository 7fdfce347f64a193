import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Bring your own CA (issue 13): an organisation's own certificate authority, pinned by the SHA-256 of its
 * subjectPublicKeyInfo (one organisation per key), with the revocation state last fetched from its CRL. A CA
 * whose CRL is older than `next_update + max_staleness` (or never fetched) vouches for nobody: fail closed.
 */
export const externalCasMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('external_cas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('certificate_pem', 'text', (c) => c.notNull())
      // One CA key, one organisation: the unique pin settles concurrent registrations too.
      .addColumn('spki_sha256', 'text', (c) => c.notNull().unique())
      .addColumn('not_after', 'text', (c) => c.notNull())
      .addColumn('crl_urls', 'text', (c) => c.notNull())
      .addColumn('ocsp_url', 'text')
      .addColumn('refresh_seconds', 'integer', (c) => c.notNull())
      .addColumn('max_staleness_seconds', 'integer', (c) => c.notNull())
      .addColumn('crl_this_update', 'text')
      .addColumn('crl_next_update', 'text')
      .addColumn('crl_number', 'text')
      .addColumn('crl_fetched_at', 'text')
      // JSON array of upper-case hex serials revoked by the last verified CRL.
      .addColumn('revoked_serials', 'text', (c) => c.notNull())
      // The last verified CRL itself (DER, base64), for edges that check CRLs at the TLS layer (nginx, Envoy).
      .addColumn('crl_der', 'text')
      .addColumn('last_error', 'text')
      .addColumn('next_refresh_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('external_cas_org_idx').on('external_cas').column('org_id').execute();
  },
};
