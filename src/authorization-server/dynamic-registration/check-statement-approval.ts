import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import type { Database } from '../../storage/index.ts';
import { invalidStatement, unapprovedStatement } from './registration-error.ts';
import type { SoftwareStatement } from './verify-software-statement.ts';

type Db = Kysely<Database>;

/**
 * RFC 7591 §3.2.2: a statement the directory has no record of, or revoked, is not approved here; one already
 * used is invalid (a replay). The registration transaction claims the jti again atomically: this read only
 * gives the caller the precise reason before anything is written.
 */
export async function checkStatementUnused(db: Db, statement: SoftwareStatement): Promise<void> {
  const row = await directoryStore(db).softwareStatement(statement.jti);
  if (!row) throw unapprovedStatement('software_statement is not one the directory issued (unknown jti)');
  if (row.software_id !== statement.softwareId || row.org_id !== statement.orgId) {
    throw unapprovedStatement('software_statement does not match the directory’s record of it');
  }
  if (row.status === 'revoked') throw unapprovedStatement('software_statement has been revoked');
  if (row.status !== 'issued') throw invalidStatement('software_statement has already been used (jti)');
}

export interface ApprovedSoftware {
  orgId: string;
  /**
   * The most a client may hold: the statement's roles the software still holds and the organisation is still
   * approved for (without a statement, the initial access token's the organisation is still approved for).
   */
  roles: string[];
  /** With a statement: the software's current roles. */
  softwareRoles?: string[] | undefined;
}

/**
 * The software the statement describes and its organisation are active, and at least one of the statement's
 * roles is still both the software's and approved for the organisation; otherwise the statement is not
 * approved (any more). Read again at every update (RFC 7592 §2.2): the statement is the ceiling, what the
 * software and its organisation may still do today bounds it (its `exp` only bounds registering with it).
 */
export async function checkSoftwareApproved(
  db: Db,
  statement: SoftwareStatement,
  now: Date = new Date(),
): Promise<ApprovedSoftware> {
  const directory = directoryStore(db);
  const software = await directory.applicationWithOrganisation(statement.softwareId);
  if (!software || software.org_id !== statement.orgId) {
    throw unapprovedStatement(
      `software ${statement.softwareId} of organisation ${statement.orgId} does not exist`,
    );
  }
  if (software.status !== 'active') {
    throw unapprovedStatement(`software ${statement.softwareId} is ${software.status}`);
  }
  if (software.org_status !== 'active') {
    throw unapprovedStatement(`organisation ${statement.orgId} is ${software.org_status}`);
  }
  const approved = new Set(await directory.organisationRoles(statement.orgId));
  const softwareRoles = (await directory.applicationRoles(statement.softwareId, now)).sort();
  if (!statement.roles.some((r) => approved.has(r))) {
    throw unapprovedStatement(
      `organisation ${statement.orgId} is approved for none of the statement’s roles`,
    );
  }
  const roles = statement.roles.filter((r) => approved.has(r) && softwareRoles.includes(r)).sort();
  if (roles.length === 0) {
    throw unapprovedStatement(
      `software ${statement.softwareId} holds none of the statement’s roles any more`,
    );
  }
  return { orgId: statement.orgId, roles, softwareRoles };
}
