import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Cursor pagination of the security-object lists (issue 16): webhooks and their deliveries, Shared Signals
 * receivers, software statements, initial access tokens, enforcement credentials, external CAs and the
 * federation's trust marks. Each list walks one of these indexes in its page order from the cursor (the sort
 * key ending in the unique id), the main filter leading where the list is filtered by it. Federation
 * subordinates page by their primary key (entity_id), which 0003's organisation index already serves.
 */
const INDEXES: Array<[name: string, table: string, columns: string[]]> = [
  ['webhook_subscriptions_page_idx', 'webhook_subscriptions', ['created_at', 'id']],
  ['webhook_subscriptions_org_page_idx', 'webhook_subscriptions', ['org_id', 'created_at', 'id']],
  ['webhook_deliveries_page_idx', 'webhook_deliveries', ['created_at', 'id']],
  ['webhook_deliveries_subscription_page_idx', 'webhook_deliveries', ['subscription_id', 'created_at', 'id']],
  ['webhook_deliveries_status_page_idx', 'webhook_deliveries', ['status', 'created_at', 'id']],
  ['ssf_receivers_page_idx', 'ssf_receivers', ['created_at', 'id']],
  ['software_statements_page_idx', 'software_statements', ['created_at', 'jti']],
  ['software_statements_org_page_idx', 'software_statements', ['org_id', 'created_at', 'jti']],
  ['software_statements_software_page_idx', 'software_statements', ['software_id', 'created_at', 'jti']],
  ['initial_access_tokens_page_idx', 'initial_access_tokens', ['created_at', 'id']],
  ['initial_access_tokens_org_page_idx', 'initial_access_tokens', ['org_id', 'created_at', 'id']],
  ['enforcement_credentials_page_idx', 'enforcement_credentials', ['created_at', 'id']],
  ['external_cas_org_page_idx', 'external_cas', ['org_id', 'created_at', 'id']],
  ['federation_trust_marks_page_idx', 'federation_trust_marks', ['created_at', 'id']],
  ['federation_trust_marks_sub_page_idx', 'federation_trust_marks', ['sub', 'created_at', 'id']],
];

export const securityObjectListsMigration = {
  async up(db: AnyDb): Promise<void> {
    for (const [name, table, columns] of INDEXES) {
      await db.schema.createIndex(name).on(table).columns(columns).execute();
    }
  },
};
