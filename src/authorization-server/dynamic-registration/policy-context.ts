import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import { certificateStore } from '../../pki/index.ts';
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
  const directory = directoryStore(db);
  const roleScopes = await directory.scopesByRole(approved.roles);
  // Only certificates of the organisation's own active applications, the organisation itself active.
  const live = await directory.activeApplicationIds(approved.orgId);
  const certificates = (await certificateStore(db).activeOfOrganisation(approved.orgId, now)).filter((c) =>
    live.has(c.client_id),
  );
  return {
    orgId: approved.orgId,
    approvedRoles: approved.roles,
    roleScopes,
    certificateSubjects: new Set(certificates.map((c) => c.subject)),
    softwareRoles: approved.softwareRoles,
    urlGuard,
  };
}
