import type { Kysely } from 'kysely';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Database } from '../../storage/index.ts';
import type { ApprovedSoftware } from './check-statement-approval.ts';

/** What the registration policy compares a request with, besides its software statement; read before it runs. */
export interface PolicyContext {
  orgId: string;
  /** The statement's roles the organisation is still approved for. */
  approvedRoles: readonly string[];
  /** role → the scopes it grants, for the approved roles. */
  roleScopes: ReadonlyMap<string, readonly string[]>;
  /**
   * Exact subjects of the certificates the platform issued to the organisation, active and unexpired, whose
   * application is the organisation's own and still active (a suspended or deleted application's certificate
   * vouches for no client), the organisation active.
   */
  certificateSubjects: ReadonlySet<string>;
  /** The software's current roles (a statement's authority): why a role the statement names is not allowed. */
  softwareRoles: readonly string[] | undefined;
  /** The partner fetcher's address policy: a URL the platform would fetch (jwks_uri) must pass it. */
  urlGuard: UrlGuard;
}

export async function loadPolicyContext(
  db: Kysely<Database>,
  approved: ApprovedSoftware,
  now: Date,
  urlGuard: UrlGuard,
): Promise<PolicyContext> {
  const roleScopes = new Map<string, string[]>(approved.roles.map((r) => [r, []]));
  const rows = await db
    .selectFrom('role_scopes')
    .select(['role', 'scope'])
    .where('role', 'in', [...approved.roles])
    .orderBy('scope')
    .execute();
  for (const row of rows) roleScopes.get(row.role)?.push(row.scope);
  const certificates = await db
    .selectFrom('certificates')
    .innerJoin('applications', 'applications.client_id', 'certificates.client_id')
    .innerJoin('organisations', 'organisations.id', 'applications.org_id')
    .select('certificates.subject')
    .where('certificates.org_id', '=', approved.orgId)
    .where('certificates.status', '=', 'active')
    .where('certificates.not_after', '>', now.toISOString())
    .where('applications.org_id', '=', approved.orgId)
    .where('applications.status', '=', 'active')
    .where('organisations.status', '=', 'active')
    .execute();
  return {
    orgId: approved.orgId,
    approvedRoles: approved.roles,
    roleScopes,
    certificateSubjects: new Set(certificates.map((c) => c.subject)),
    softwareRoles: approved.softwareRoles,
    urlGuard,
  };
}
