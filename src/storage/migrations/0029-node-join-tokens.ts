import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Issue 16, many nodes. One-command join of another platform node. An operator creates a short-lived, one-use join token;
 * only its SHA-256 is stored. `used_at` is set by the one request that redeems it (a conditional UPDATE, so
 * two concurrent joins with the same token cannot both win).
 */
export const nodeJoinTokensMigration = {
  async up(db: AnyDb): Promise<void> {
    // platform: join tokens for new nodes.
    await db.schema
      .createTable('node_join_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      // The address and node name the redeeming request gave, for the audit trail.
      .addColumn('used_by', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    // authorization-server: failed sign-ins per client address, shared by every node (the per-account
    // counters already live on the account), so N nodes do not give an attacker N times the attempts.
    await db.schema
      .createTable('login_address_throttle')
      .addColumn('address', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('locked_until', 'text', (c) => c.notNull())
      .addColumn('last_seen', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('login_address_throttle_last_seen')
      .on('login_address_throttle')
      .column('last_seen')
      .execute();
  },
};
