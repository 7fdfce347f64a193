import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * OCSP (RFC 6960): the delegated responder certificates, one line per certificate a CA issued to its
 * responder (id-kp-OCSPSigning, id-pkix-ocsp-nocheck, short-lived); the newest unexpired one signs. The key
 * is KEK-encrypted PKCS#8, as every other private key.
 */
export const ocspMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('ocsp_responders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('ca_id', 'text', (c) => c.notNull().references('certificate_authorities.id'))
      .addColumn('serial', 'text', (c) => c.notNull().unique())
      .addColumn('cert_pem', 'text', (c) => c.notNull())
      .addColumn('key_pem', 'text', (c) => c.notNull())
      .addColumn('not_before', 'text', (c) => c.notNull())
      .addColumn('not_after', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('ocsp_responders_ca')
      .on('ocsp_responders')
      .columns(['ca_id', 'not_after'])
      .execute();
  },
};
