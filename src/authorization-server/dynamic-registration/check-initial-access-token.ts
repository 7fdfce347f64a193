import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import type { Database, Tx } from '../../storage/index.ts';
import type { ApprovedSoftware } from './check-statement-approval.ts';
import { invalidToken, REGISTRATION_ERRORS, RegistrationError } from './registration-error.ts';
import { bearerTokenMatches, hashBearerToken } from './registration-token.ts';

type Db = Kysely<Database> | Tx['db'];

/** An initial access token as registration relies on it: its id, organisation and the most roles it allows. */
export interface InitialAccessTokenGrant {
  id: string;
  orgId: string;
  roles: string[];
}

type Unusable = 'revoked' | 'expired' | 'exhausted' | 'organisation';

async function findByToken(db: Db, token: string) {
  // Looked up by the hash of a 256-bit secret, then compared in constant time: timing tells nothing of the token.
  const stored = await db
    .selectFrom('initial_access_tokens')
    .select(['id', 'token_hash', 'org_id', 'roles', 'expires_at', 'max_uses', 'used_count', 'revoked_at'])
    .where('token_hash', '=', hashBearerToken(token))
    .executeTakeFirst();
  if (!stored || !bearerTokenMatches(token, stored.token_hash)) return undefined;
  const orgStatus = await directoryStore(db).organisationStatus(stored.org_id);
  return orgStatus ? { ...stored, org_status: orgStatus } : undefined;
}

function unusable(
  row: NonNullable<Awaited<ReturnType<typeof findByToken>>>,
  now: Date,
): Unusable | undefined {
  if (row.revoked_at !== null) return 'revoked';
  if (Date.parse(row.expires_at) <= now.getTime()) return 'expired';
  if (Number(row.used_count) >= Number(row.max_uses)) return 'exhausted';
  if (row.org_status !== 'active') return 'organisation';
  return undefined;
}

const REASONS: Record<Unusable, string> = {
  revoked: 'the initial access token has been revoked',
  expired: 'the initial access token has expired',
  exhausted: 'the initial access token has no registrations left',
  organisation: 'the initial access token’s organisation is not active',
};

/**
 * RFC 7591 §3, RFC 6750 §3.1: the Bearer token at the registration endpoint must be an initial access token an
 * operator issued, not revoked, not expired, with a registration left, for an active organisation; anything
 * else is 401 invalid_token. The registration transaction claims a use again atomically (claimInitialAccessToken).
 */
export async function authenticateInitialAccessToken(
  db: Db,
  token: string,
  now: Date,
): Promise<InitialAccessTokenGrant> {
  const row = await findByToken(db, token);
  if (!row) throw invalidToken('the initial access token is not valid');
  const reason = unusable(row, now);
  if (reason) throw invalidToken(REASONS[reason]);
  return { id: row.id, orgId: row.org_id, roles: JSON.parse(row.roles) as string[] };
}

/**
 * One use of the token, counted in the transaction that creates the client: conditional on it being still
 * usable, so of two concurrent registrations with its last use one succeeds and the other rolls back with 401.
 */
export async function claimInitialAccessToken(
  tx: Tx,
  grant: InitialAccessTokenGrant,
  now: Date,
): Promise<void> {
  const claimed = await tx.db
    .updateTable('initial_access_tokens')
    .set((eb) => ({ used_count: eb('used_count', '+', 1) }))
    .where('id', '=', grant.id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .where((eb) => eb('used_count', '<', eb.ref('max_uses')))
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 1) return;
  const row = await tx.db
    .selectFrom('initial_access_tokens')
    .select(['revoked_at', 'expires_at', 'used_count', 'max_uses'])
    .where('id', '=', grant.id)
    .executeTakeFirst();
  const reason: Unusable =
    row?.revoked_at != null
      ? 'revoked'
      : row && Date.parse(row.expires_at) <= now.getTime()
        ? 'expired'
        : 'exhausted';
  throw invalidToken(REASONS[reason]);
}

/**
 * The token a client was registered with, read again for RFC 7592 management, with whether an operator has
 * revoked it since (then it authorises no widening of the client any more; see update-client.ts). Its expiry and
 * its uses do not matter here: they bound registering with it, not managing what it registered.
 */
export async function loadInitialAccessTokenGrant(
  db: Db,
  id: string,
): Promise<InitialAccessTokenGrant & { revoked: boolean }> {
  const row = await db
    .selectFrom('initial_access_tokens')
    .select(['id', 'org_id', 'roles', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    orgId: row.org_id,
    roles: JSON.parse(row.roles) as string[],
    revoked: row.revoked_at !== null,
  };
}

/**
 * Without a statement, the token is the authority: the client belongs to its organisation, which must still be
 * active, and may hold at most the token's roles the organisation is still approved for.
 */
export async function checkInitialAccessTokenApproved(
  db: Db,
  grant: InitialAccessTokenGrant,
): Promise<ApprovedSoftware> {
  const directory = directoryStore(db);
  const orgStatus = await directory.organisationStatus(grant.orgId);
  if (orgStatus === undefined) throw new Error(`no organisation ${grant.orgId}`);
  if (orgStatus !== 'active') {
    throw new RegistrationError(
      REGISTRATION_ERRORS.invalidClientMetadata,
      400,
      `organisation ${grant.orgId} is ${orgStatus}`,
    );
  }
  const approved = new Set(await directory.organisationRoles(grant.orgId));
  return { orgId: grant.orgId, roles: grant.roles.filter((r) => approved.has(r)).sort() };
}
