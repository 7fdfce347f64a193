import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Paged "people and catalog" lists (issue 16): the indexes their keyset queries walk — each list reads its
 * page order from the cursor on an index, per organisation (or account, client) where it is filtered by one.
 * Scopes, roles, resources and catalog revisions page by their primary key and need none; accounts page by
 * their unique username.
 */
export const peopleCatalogListsMigration = {
  async up(db: AnyDb): Promise<void> {
    const index = (name: string, table: string, columns: string[]) =>
      db.schema.createIndex(name).on(table).columns(columns).execute();
    await index('member_invitations_page_idx', 'member_invitations', ['org_id', 'created_at', 'id']);
    await index('organisation_members_page_idx', 'organisation_members', [
      'org_id',
      'created_at',
      'account_id',
    ]);
    await index('operator_accounts_page_idx', 'operator_accounts', ['created_at', 'account_id']);
    await index('testplan_runs_page_idx', 'testplan_runs', ['received_at', 'id']);
    await index('testplan_runs_org_page_idx', 'testplan_runs', ['org_id', 'received_at', 'id']);
    await index('account_grants_page_idx', 'account_grants', ['created_at', 'grant_id']);
    await index('account_grants_account_page_idx', 'account_grants', [
      'account_id',
      'created_at',
      'grant_id',
    ]);
    await index('account_grants_client_page_idx', 'account_grants', ['client_id', 'created_at', 'grant_id']);
    await index('accounts_status_page_idx', 'accounts', ['status', 'username']);
    await index('contacts_page_idx', 'contacts', ['org_id', 'created_at', 'id']);
  },
};
