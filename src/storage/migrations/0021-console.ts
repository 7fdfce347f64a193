import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * The web console and partner portal (issue 15): operator accounts (administrator, auditor), organisation
 * members and their one-time invitations, console sessions, the sandbox / production split with its go-live
 * gate (test-plan runs), and the approval queue of roles partners request for their applications.
 */
export const consoleMigration = {
  async up(db: AnyDb): Promise<void> {
    // platform: which accounts may use the operator console, and how.
    await db.schema
      .createTable('operator_accounts')
      .addColumn('account_id', 'text', (c) => c.primaryKey())
      // administrator | auditor (read-only)
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    // directory: who acts for an organisation in the partner portal.
    await db.schema
      .createTable('organisation_members')
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      // org_admin | developer | viewer
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('organisation_members_pk', ['org_id', 'account_id'])
      .execute();
    await db.schema
      .createIndex('organisation_members_account')
      .on('organisation_members')
      .column('account_id')
      .execute();
    await db.schema
      .createTable('member_invitations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      // SHA-256 of the one-time secret in the link; the secret itself is shown once and never stored.
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('accepted_at', 'text')
      .addColumn('accepted_by', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('member_invitations_org').on('member_invitations').column('org_id').execute();
    // directory: roles a partner asked for, waiting for an operator.
    await db.schema
      .createTable('role_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      // pending | approved | rejected | withdrawn
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'text')
      .addColumn('reason', 'text')
      .execute();
    await db.schema
      .createIndex('role_requests_status')
      .on('role_requests')
      .columns(['status', 'requested_at'])
      .execute();
    await db.schema
      .createIndex('role_requests_org')
      .on('role_requests')
      .columns(['org_id', 'client_id'])
      .execute();
    // directory: sandbox or production; partner-created applications start in the sandbox.
    await db.schema
      .alterTable('applications')
      .addColumn('environment', 'text', (c) => c.notNull().defaultTo('production'))
      .execute();
    // directory: the go-live gate — set once the organisation's test plan passed against the sandbox.
    await db.schema.alterTable('organisations').addColumn('live_at', 'text').execute();
    await db.schema.alterTable('organisations').addColumn('live_run_id', 'text').execute();
    await db.schema
      .createTable('testplan_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      // SHA-256 thumbprint of the certificate that submitted the run (mTLS).
      .addColumn('cert_x5t_s256', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      // passed | failed
      .addColumn('outcome', 'text', (c) => c.notNull())
      // JSON: the cases as the test plan reported them.
      .addColumn('report', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('testplan_runs_org')
      .on('testplan_runs')
      .columns(['org_id', 'received_at'])
      .execute();
    // platform: when each client last called through one of this platform's doors (access reviews:
    // "clients without traffic for N days"), written in batches from the decision taps.
    await db.schema
      .createTable('client_activity')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text')
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_allowed_at', 'text')
      .execute();
    // console: browser sessions (the cookie holds a 256-bit secret; only its SHA-256 is stored).
    await db.schema
      .createTable('console_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      // SHA-256 of the CSRF token the single-page app sends back in x-csrf-token.
      .addColumn('csrf_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('idle_expires_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema
      .createIndex('console_sessions_account')
      .on('console_sessions')
      .column('account_id')
      .execute();
  },
};
