import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Credentials an operator grants to an enforcement point (a standalone gateway) to read the change feed;
 * stored as the SHA-256 of a 256-bit random token, like operator tokens, so a database leak grants nothing.
 */
export const enforcementCredentialsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('enforcement_credentials')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
  },
};
