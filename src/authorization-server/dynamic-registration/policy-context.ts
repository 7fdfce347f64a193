import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';
import type { ApprovedSoftware } from './check-statement-approval.ts';

/** What the registration policy compares a request with, besides its software statement; read before it runs. */
export interface PolicyContext {
  orgId: string;
  /** The statement's roles the organisation is still approved for. */
  approvedRoles: readonly string[];
  /** role → the scopes it grants, for the approved roles. */
  roleScopes: ReadonlyMap<string, readonly string[]>;
  /** Exact subjects of the certificates the platform issued to the organisation, active and unexpired. */
  certificateSubjects: ReadonlySet<string>;
}

export async function loadPolicyContext(
  db: Kysely<Database>,
  approved: ApprovedSoftware,
  now: Date,
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
    .select('subject')
    .where('org_id', '=', approved.orgId)
    .where('status', '=', 'active')
    .where('not_after', '>', now.toISOString())
    .execute();
  return {
    orgId: approved.orgId,
    approvedRoles: approved.roles,
    roleScopes,
    certificateSubjects: new Set(certificates.map((c) => c.subject)),
  };
}
