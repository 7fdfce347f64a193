import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';
import {
  checkInitialAccessTokenApproved,
  type InitialAccessTokenGrant,
} from './check-initial-access-token.ts';
import { type ApprovedSoftware, checkSoftwareApproved } from './check-statement-approval.ts';
import { invalidStatement, unapprovedStatement } from './registration-error.ts';
import type { SoftwareStatement } from './verify-software-statement.ts';

/**
 * What a registration rests on (RFC 7591 §3): a software statement the directory issued, an initial access
 * token an operator issued, or both. Each bounds the client; with both, the narrower of the two holds.
 */
export interface RegistrationAuthority {
  statement: SoftwareStatement | undefined;
  initialAccessToken: InitialAccessTokenGrant | undefined;
}

/** How the policy's findings name the authority the client is held to. */
export const authorityName = (authority: RegistrationAuthority): string =>
  authority.statement ? 'the software statement' : 'the initial access token';

/**
 * The organisation the client belongs to and the most roles it may hold under every authority it rests on.
 * A statement with an initial access token: the token must be for the statement's organisation, and the roles
 * are the statement's the organisation is approved for that the token allows as well.
 */
export async function approveAuthority(
  db: Kysely<Database>,
  authority: RegistrationAuthority,
): Promise<ApprovedSoftware> {
  const { statement, initialAccessToken: token } = authority;
  if (!statement) {
    if (!token) throw invalidStatement('a software_statement issued by the directory is required');
    return checkInitialAccessTokenApproved(db, token);
  }
  const approved = await checkSoftwareApproved(db, statement);
  if (!token) return approved;
  if (token.orgId !== statement.orgId) {
    throw unapprovedStatement(
      'software_statement is for another organisation than the initial access token presented with it',
    );
  }
  const roles = approved.roles.filter((r) => token.roles.includes(r));
  if (roles.length === 0) {
    throw unapprovedStatement('the initial access token allows none of the software statement’s roles');
  }
  return { orgId: approved.orgId, roles, softwareRoles: approved.softwareRoles };
}
