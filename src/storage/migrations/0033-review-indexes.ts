import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Operator overview and access reviews at 100,000 applications (issue 16): the overview counts applications by
 * status from an index, and each access-review section is a keyset page read along an index in its own order —
 * role holders by (role, client_id), clients without traffic by (last_seen_at, client_id) — never a sort of
 * the whole table. Operators page along operator_accounts_page_idx (created_at, account_id) of migration 0031.
 */
export const reviewIndexesMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createIndex('applications_status_idx')
      .on('applications')
      .columns(['status', 'created_at', 'client_id'])
      .execute();
    await db.schema
      .createIndex('application_roles_role_idx')
      .on('application_roles')
      .columns(['role', 'client_id'])
      .execute();
    await db.schema
      .createIndex('client_activity_seen_idx')
      .on('client_activity')
      .columns(['last_seen_at', 'client_id'])
      .execute();
  },
};
