import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/** oidc-provider's short-lived artefacts (PAR requests, codes, replay detection…) kept in our storage. */
export const oidcModelsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('oidc_models')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text')
      .addColumn('uid', 'text')
      .addColumn('user_code', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('consumed_at', 'text')
      .addPrimaryKeyConstraint('oidc_models_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_models_grant_idx').on('oidc_models').column('grant_id').execute();
    await db.schema.createIndex('oidc_models_uid_idx').on('oidc_models').column('uid').execute();
    await db.schema.createIndex('oidc_models_expiry_idx').on('oidc_models').column('expires_at').execute();
  },
};
