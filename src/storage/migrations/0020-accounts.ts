import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * End-user login and consent (issue 14): the built-in account store (argon2id password hashes, an optional
 * KEK-sealed TOTP secret, failed-login counters for the lockout) and the remembered consents (one
 * oidc-provider Grant per account and client, listable and revocable by the operator).
 */
export const accountsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      // NFC-normalised and case-folded: the one spelling a login compares with.
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text')
      .addColumn('email', 'text')
      // PHC-style argon2id string (parameters, salt, hash); null for an upstream-only account.
      .addColumn('password_hash', 'text')
      // RFC 6238 secret, AES-256-GCM under a key derived from the KEK; null when TOTP is off.
      .addColumn('totp_secret_enc', 'text')
      // The last TOTP time step accepted: a code is never accepted twice (RFC 6238 §5.2).
      .addColumn('totp_last_step', 'integer')
      // Upstream OpenID Connect identity (iss, sub) this account stands for.
      .addColumn('upstream_iss', 'text')
      .addColumn('upstream_sub', 'text')
      // active | disabled
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('accounts_upstream')
      .on('accounts')
      .columns(['upstream_iss', 'upstream_sub'])
      .unique()
      .execute();
    await db.schema
      .createTable('account_grants')
      // The oidc-provider Grant id (its payload lives in oidc_models, model Grant).
      .addColumn('grant_id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      // Space-separated scopes consented to.
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('account_grants_account_client')
      .on('account_grants')
      .columns(['account_id', 'client_id'])
      .execute();
  },
};
