import type { Database } from './schema.ts';

/** The roles that may own tables: each is a folder under `src/` whose `index.ts` is its only door. */
export type TableOwner =
  | 'audit'
  | 'authorization-server'
  | 'console'
  | 'directory'
  | 'federation'
  | 'pki'
  | 'platform'
  | 'storage';

/**
 * Which role owns each table: only the owner's source names it; every other role goes through the owner's
 * typed stores (issue 10). `signing_keys` is one table partitioned by `purpose`, so several roles own it:
 * the authorization server its `access_token` keys, the federation authority its `federation` keys, the
 * directory its `software_statement` keys, and the platform, which creates the first key of each at init.
 */
export const TABLE_OWNERS = {
  organisations: ['directory'],
  organisation_roles: ['directory'],
  contacts: ['directory'],
  roles: ['directory'],
  scopes: ['directory'],
  role_scopes: ['directory'],
  catalog_resources: ['directory'],
  catalog_operations: ['directory'],
  catalog_operation_scopes: ['directory'],
  catalog_drafts: ['directory'],
  catalog_revisions: ['directory'],
  applications: ['directory'],
  application_roles: ['directory'],
  software_statements: ['directory'],
  self_signed_pins: ['directory'],
  certificate_authorities: ['pki'],
  certificates: ['pki'],
  crls: ['pki'],
  rotation_policies: ['pki'],
  ocsp_responders: ['pki'],
  external_cas: ['pki'],
  oidc_models: ['authorization-server'],
  dynamic_registrations: ['authorization-server'],
  initial_access_tokens: ['authorization-server'],
  federation_registrations: ['authorization-server'],
  accounts: ['authorization-server'],
  operator_accounts: ['console'],
  client_activity: ['platform'],
  decision_lines: ['platform'],
  decision_minutes: ['platform'],
  decision_minute_reasons: ['platform'],
  organisation_members: ['directory'],
  member_invitations: ['directory'],
  role_requests: ['directory'],
  testplan_runs: ['directory'],
  console_sessions: ['console'],
  account_grants: ['authorization-server'],
  federation_subordinates: ['federation'],
  federation_trust_marks: ['federation'],
  signing_keys: ['authorization-server', 'federation', 'directory', 'platform'],
  audit_log: ['audit'],
  platform_events: ['audit'],
  event_cursors: ['audit'],
  webhook_subscriptions: ['audit'],
  webhook_deliveries: ['audit'],
  webhook_attempts: ['audit'],
  ssf_receivers: ['audit'],
  ssf_streams: ['audit'],
  ssf_stream_subjects: ['audit'],
  ssf_queued_sets: ['audit'],
  mail_outbox: ['audit'],
  change_feed: ['storage'],
  replay_cache: ['storage'],
  rate_limit_counters: ['storage'],
  rate_limits: ['directory'],
  operator_tokens: ['platform'],
  enforcement_credentials: ['platform'],
  node_join_tokens: ['platform'],
  login_address_throttle: ['authorization-server'],
} as const satisfies Record<keyof Database, readonly TableOwner[]>;

export type TableName = keyof typeof TABLE_OWNERS;
