import type { Kysely } from 'kysely';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Storage } from '../../storage/index.ts';

export interface GrantView {
  grant_id: string;
  account_id: string;
  username: string | null;
  client_id: string;
  scope: string;
  created_at: string;
  expires_at: string;
}

/** The sort key of a consent page: oldest first, ties by grant id. */
export const GRANT_PAGE_KEY = ['account_grants.created_at', 'account_grants.grant_id'] as const;

/** Remembered consents (table `account_grants`) beside oidc-provider's Grant records (oidc_models). */
export function grantStore(storage: Storage) {
  const db: Kysely<Database> = storage.db;
  function listQuery(filter: { account?: string | undefined; clientId?: string | undefined }, now: Date) {
    let query = db
      .selectFrom('account_grants')
      .leftJoin('accounts', 'accounts.id', 'account_grants.account_id')
      .select([
        'account_grants.grant_id',
        'account_grants.account_id',
        'accounts.username',
        'account_grants.client_id',
        'account_grants.scope',
        'account_grants.created_at',
        'account_grants.expires_at',
      ])
      .where('account_grants.expires_at', '>', now.toISOString());
    if (filter.account) query = query.where('account_grants.account_id', '=', filter.account);
    if (filter.clientId) query = query.where('account_grants.client_id', '=', filter.clientId);
    return query;
  }
  return {
    async remember(
      row: { grant_id: string; account_id: string; client_id: string; scope: string; expires_at: string },
      now: Date,
    ): Promise<void> {
      await db
        .insertInto('account_grants')
        .values({ ...row, created_at: now.toISOString() })
        .onConflict((oc) =>
          oc.column('grant_id').doUpdateSet({ scope: row.scope, expires_at: row.expires_at }),
        )
        .execute();
    },

    /** The newest unexpired consent of this account to this client. */
    async latest(accountId: string, clientId: string, now: Date): Promise<string | undefined> {
      const row = await db
        .selectFrom('account_grants')
        .select('grant_id')
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .where('expires_at', '>', now.toISOString())
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      return row?.grant_id;
    },

    async list(filter: { account?: string; clientId?: string }, now: Date): Promise<GrantView[]> {
      return listQuery(filter, now).orderBy('account_grants.created_at').execute();
    },

    /** One page of unexpired consents, oldest first, keyset-paged by (created_at, grant_id). */
    async listPage(
      filter: { account?: string; clientId?: string },
      page: PageRequest,
      now: Date,
    ): Promise<Page<GrantView>> {
      let query = listQuery(filter, now);
      const after = page.after;
      if (after) query = query.where((eb) => keysetAfter(eb, GRANT_PAGE_KEY, after));
      const rows = await query
        .orderBy('account_grants.created_at')
        .orderBy('account_grants.grant_id')
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, (g) => [g.created_at, g.grant_id]);
    },

    /**
     * Revokes a consent: the Grant and everything issued under it (codes, refresh tokens: oidc-provider's
     * revokeByGrantId, here over our adapter's table). Returns false when there was no such grant.
     */
    async revoke(grantId: string): Promise<boolean> {
      return storage.transaction(async ({ db: trx }) => {
        const removed = await trx
          .deleteFrom('account_grants')
          .where('grant_id', '=', grantId)
          .executeTakeFirst();
        await trx.deleteFrom('oidc_models').where('grant_id', '=', grantId).execute();
        const grant = await trx
          .deleteFrom('oidc_models')
          .where('model', '=', 'Grant')
          .where('id', '=', grantId)
          .executeTakeFirst();
        return Number(removed.numDeletedRows) + Number(grant.numDeletedRows) > 0;
      });
    },

    /** Revokes every consent of an account (its removal). */
    async revokeAllOf(accountId: string): Promise<number> {
      const rows = await db
        .selectFrom('account_grants')
        .select('grant_id')
        .where('account_id', '=', accountId)
        .execute();
      for (const r of rows) await this.revoke(r.grant_id);
      return rows.length;
    },
  };
}

export type GrantStore = ReturnType<typeof grantStore>;
