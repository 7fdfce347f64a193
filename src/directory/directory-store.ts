import type { Kysely } from 'kysely';
import type { Database, Tx } from '../storage/index.ts';
import { liveRoles } from './role-grants.ts';

/** An application with its organisation's name and status: the lookup every other role needs. */
export interface ApplicationWithOrganisation {
  client_id: string;
  org_id: string;
  name: string;
  status: Database['applications']['status'];
  auth_method: Database['applications']['auth_method'];
  registration_type: Database['applications']['registration_type'];
  metadata: string;
  org_name: string;
  org_status: Database['organisations']['status'];
}

/** What another role may read of a software statement the directory issued. */
export interface SoftwareStatementRecord {
  software_id: string;
  org_id: string;
  status: Database['software_statements']['status'];
}

/**
 * The directory's tables as other roles may use them, bound to one database handle or transaction: the only
 * way another role reads or writes organisations, applications, roles, scopes and software statements.
 */
export function directoryStore(db: Kysely<Database>) {
  // An application row with its organisation's name and status, as every lookup below answers it.
  const withOrganisation = () =>
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.org_id')
      .select([
        'applications.client_id',
        'applications.org_id',
        'applications.name',
        'applications.status',
        'applications.auth_method',
        'applications.registration_type',
        'applications.metadata',
        'organisations.name as org_name',
        'organisations.status as org_status',
      ]);

  return {
    /** The application and its organisation, or undefined when there is no such application. */
    async applicationWithOrganisation(clientId: string): Promise<ApplicationWithOrganisation | undefined> {
      return withOrganisation().where('applications.client_id', '=', clientId).executeTakeFirst();
    },

    /** Several applications with their organisations at once (the expiry monitor's batch); unknown ids are absent. */
    async applicationsWithOrganisation(clientIds: readonly string[]): Promise<ApplicationWithOrganisation[]> {
      if (clientIds.length === 0) return [];
      return withOrganisation()
        .where('applications.client_id', 'in', [...clientIds])
        .execute();
    },

    /** Every organisation's status: what an enforcement point's snapshot starts from. */
    async organisationStatuses(): Promise<{ id: string; status: Database['organisations']['status'] }[]> {
      return db.selectFrom('organisations').select(['id', 'status']).execute();
    },

    /** Every application as an enforcement point needs it: its organisation, status and how it authenticates. */
    async applicationsForEnforcement(): Promise<
      Pick<
        ApplicationWithOrganisation,
        'client_id' | 'org_id' | 'status' | 'auth_method' | 'registration_type' | 'metadata'
      >[]
    > {
      return db
        .selectFrom('applications')
        .select(['client_id', 'org_id', 'status', 'auth_method', 'registration_type', 'metadata'])
        .execute();
    },

    /** The client_ids of the organisation's active applications, none when the organisation is not active. */
    async activeApplicationIds(orgId: string): Promise<Set<string>> {
      const rows = await db
        .selectFrom('applications')
        .innerJoin('organisations', 'organisations.id', 'applications.org_id')
        .select('applications.client_id')
        .where('applications.org_id', '=', orgId)
        .where('applications.status', '=', 'active')
        .where('organisations.status', '=', 'active')
        .execute();
      return new Set(rows.map((r) => r.client_id));
    },

    /** The ids of the active organisations, as a subquery: another role filters its rows by it in one statement. */
    activeOrganisationIds() {
      return db.selectFrom('organisations').select('id').where('status', '=', 'active');
    },

    /** Does another application of the organisation have this name key (names are unique per organisation)? */
    async applicationNameTaken(orgId: string, nameKey: string): Promise<boolean> {
      const taken = await db
        .selectFrom('applications')
        .select('client_id')
        .where('org_id', '=', orgId)
        .where('name_key', '=', nameKey)
        .executeTakeFirst();
      return taken !== undefined;
    },

    /** The roles the application holds at `now`: a time-bound grant past its end grants nothing. */
    async applicationRoles(clientId: string, now: Date): Promise<string[]> {
      return liveRoles(db, clientId, now);
    },

    async organisationStatus(orgId: string): Promise<Database['organisations']['status'] | undefined> {
      const row = await db
        .selectFrom('organisations')
        .select('status')
        .where('id', '=', orgId)
        .executeTakeFirst();
      return row?.status;
    },

    /** The roles the organisation is approved for. */
    async organisationRoles(orgId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('organisation_roles')
        .select('role')
        .where('org_id', '=', orgId)
        .execute();
      return rows.map((r) => r.role);
    },

    async roleNames(): Promise<string[]> {
      return (await db.selectFrom('roles').select('name').execute()).map((r) => r.name);
    },

    /** Every scope of the catalog, sorted by name. */
    async scopeNames(): Promise<string[]> {
      return (await db.selectFrom('scopes').select('name').orderBy('name').execute()).map((s) => s.name);
    },

    /** The catalog's plain-words description of each named scope (consent pages); unknown names are absent. */
    async scopeDescriptions(names: readonly string[]): Promise<Map<string, string>> {
      if (names.length === 0) return new Map();
      const rows = await db
        .selectFrom('scopes')
        .select(['name', 'description'])
        .where('name', 'in', [...names])
        .execute();
      return new Map(rows.map((r) => [r.name, r.description]));
    },

    /** role → the scopes it grants, sorted, for the given roles. */
    async scopesByRole(roles: readonly string[]): Promise<Map<string, string[]>> {
      const byRole = new Map<string, string[]>(roles.map((r) => [r, []]));
      if (roles.length === 0) return byRole;
      const rows = await db
        .selectFrom('role_scopes')
        .select(['role', 'scope'])
        .where('role', 'in', [...roles])
        .orderBy('scope')
        .execute();
      for (const row of rows) byRole.get(row.role)?.push(row.scope);
      return byRole;
    },

    async softwareStatement(jti: string): Promise<SoftwareStatementRecord | undefined> {
      return db
        .selectFrom('software_statements')
        .select(['software_id', 'org_id', 'status'])
        .where('jti', '=', jti)
        .executeTakeFirst();
    },
  };
}

export type DirectoryStore = ReturnType<typeof directoryStore>;

/**
 * PostgreSQL: holds the row of the application's organisation until the transaction ends, so that a concurrent
 * suspension or offboarding is ordered before or after the caller's work. SQLite already has a single writer.
 */
export async function lockOrganisationOfApplication(tx: Tx, clientId: string): Promise<void> {
  if (tx.engine !== 'postgres') return;
  await tx.db
    .selectFrom('organisations')
    .select('id')
    .where('id', '=', (eb) =>
      eb.selectFrom('applications').select('org_id').where('client_id', '=', clientId),
    )
    .forShare()
    .execute();
}

/**
 * RFC 7591 §2.3: each statement registers one client. Moves the jti from issued to used in the caller's
 * transaction; false when it was not `issued` (a concurrent second use, a revocation).
 */
export async function claimSoftwareStatement(tx: Tx, jti: string, now: Date): Promise<boolean> {
  const result = await tx.db
    .updateTable('software_statements')
    .set({ status: 'used', used_at: now.toISOString() })
    .where('jti', '=', jti)
    .where('status', '=', 'issued')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Records which client a used statement registered. */
export async function recordSoftwareStatementClient(tx: Tx, jti: string, clientId: string): Promise<void> {
  await tx.db
    .updateTable('software_statements')
    .set({ used_by_client_id: clientId })
    .where('jti', '=', jti)
    .execute();
}
