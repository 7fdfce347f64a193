import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { type ActionMeta, directoryStore, requireOrganisation } from '../../directory/index.ts';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../../storage/index.ts';
import { hashBearerToken } from './registration-token.ts';

type AnyDb = Kysely<Database> | Tx['db'];
type TokenRow = Database['initial_access_tokens'];

/** Seconds an initial access token lives: a day by default, a minute to 30 days. */
export const INITIAL_ACCESS_TOKEN_LIFETIME = { default: 86_400, min: 60, max: 30 * 86_400 } as const;
/** Registrations one token allows: one by default, at most 100. */
export const INITIAL_ACCESS_TOKEN_USES = { default: 1, min: 1, max: 100 } as const;

// Recognisable in logs, diffs and secret scanners; the rest is 256 bits from the CSPRNG.
const TOKEN_PREFIX = 'acc_iat_';

export interface IssueInitialAccessTokenInput {
  orgId: string;
  /** The most a client registered with the token may hold; each must be approved for the organisation. */
  roles: string[];
  expiresInSeconds?: number | undefined;
  maxUses?: number | undefined;
}

export type InitialAccessTokenStatus = 'active' | 'expired' | 'exhausted' | 'revoked';

/** A token as recorded; the token itself is never stored nor listed. */
export interface InitialAccessTokenView {
  id: string;
  org_id: string;
  roles: string[];
  status: InitialAccessTokenStatus;
  created_by: string;
  created_at: string;
  expires_at: string;
  max_uses: number;
  used_count: number;
  revoked_at: string | null;
}

export interface IssuedInitialAccessToken extends InitialAccessTokenView {
  /** The bearer token (RFC 7591 §3), shown this once. */
  initial_access_token: string;
}

function statusOf(row: TokenRow, now: Date): InitialAccessTokenStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (Date.parse(row.expires_at) <= now.getTime()) return 'expired';
  if (Number(row.used_count) >= Number(row.max_uses)) return 'exhausted';
  return 'active';
}

const view = (row: TokenRow, now: Date): InitialAccessTokenView => ({
  id: row.id,
  org_id: row.org_id,
  roles: JSON.parse(row.roles) as string[],
  status: statusOf(row, now),
  created_by: row.created_by,
  created_at: row.created_at,
  expires_at: row.expires_at,
  // PostgreSQL integers may come back as strings from some drivers; the view is always numbers.
  max_uses: Number(row.max_uses),
  used_count: Number(row.used_count),
  revoked_at: row.revoked_at,
});

function boundedInteger(
  field: string,
  value: number | undefined,
  bounds: { default: number; min: number; max: number },
): number {
  const n = value ?? bounds.default;
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw invalidInput(`${field} must be an integer from ${bounds.min} to ${bounds.max}`, { field });
  }
  return n;
}

/** Roles that exist and are approved for the organisation, deduplicated and sorted; the directory's own rule. */
async function checkRoles(tx: Tx, orgId: string, requested: readonly string[]): Promise<string[]> {
  const roles = [...new Set(requested)].sort();
  if (roles.length === 0) throw invalidInput('at least one role is required', { field: 'roles' });
  const directory = directoryStore(tx.db);
  const defined = new Set(await directory.roleNames());
  const unknown = roles.filter((r) => !defined.has(r));
  if (unknown.length > 0) {
    throw invalidInput(`unknown role: ${unknown.join(', ')}`, { field: 'roles', unknown });
  }
  const approved = new Set(await directory.organisationRoles(orgId));
  const notApproved = roles.filter((r) => !approved.has(r));
  if (notApproved.length > 0) {
    throw new AppError(
      'role_not_approved',
      403,
      `role not approved for organisation ${orgId}: ${notApproved.join(', ')}`,
      { field: 'roles', not_approved: notApproved },
    );
  }
  return roles;
}

/**
 * Issues an initial access token (RFC 7591 §3) for an active organisation: 256 random bits, stored as its
 * SHA-256 with the roles a client registered with it may hold at most, an expiry and a number of uses.
 * Audited without the token, in the caller's transaction; the token is returned this once.
 */
export async function issueInitialAccessToken(
  tx: Tx,
  input: IssueInitialAccessTokenInput,
  meta: ActionMeta,
): Promise<IssuedInitialAccessToken> {
  const lifetime = boundedInteger(
    'expires_in_seconds',
    input.expiresInSeconds,
    INITIAL_ACCESS_TOKEN_LIFETIME,
  );
  const maxUses = boundedInteger('max_uses', input.maxUses, INITIAL_ACCESS_TOKEN_USES);
  const org = await requireOrganisation(tx.db, input.orgId);
  if (org.status !== 'active') {
    throw new AppError('organisation_not_active', 409, `organisation ${org.id} is ${org.status}`);
  }
  const roles = await checkRoles(tx, org.id, input.roles);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    id: randomUUID(),
    token_hash: hashBearerToken(token),
    org_id: org.id,
    roles: JSON.stringify(roles),
    created_by: meta.actor,
    created_at: meta.now.toISOString(),
    expires_at: new Date(meta.now.getTime() + lifetime * 1000).toISOString(),
    max_uses: maxUses,
    used_count: 0,
    revoked_at: null,
  };
  await tx.db.insertInto('initial_access_tokens').values(row).execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'initial_access_token.issue',
      targetType: 'initial_access_token',
      targetId: row.id,
      details: { org_id: org.id, roles, expires_at: row.expires_at, max_uses: maxUses },
    },
    meta.now,
  );
  return { ...view(row, meta.now), initial_access_token: token };
}

export async function getInitialAccessToken(
  db: AnyDb,
  id: string,
  now: Date,
): Promise<InitialAccessTokenView> {
  const row = await db
    .selectFrom('initial_access_tokens')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('initial access token', id);
  return view(row, now);
}

/** Token pages: newest first by (created_at, id). */
export const INITIAL_ACCESS_TOKEN_PAGE_KEY_LENGTH = 2;

export interface InitialAccessTokenFilter {
  orgId?: string | undefined;
  /** The view's status, worked out at `now` as the view does. */
  status?: InitialAccessTokenStatus | undefined;
}

/** One page of token records, keyset-paged newest first by (created_at, id) after `page.after`. */
export async function listInitialAccessTokensPage(
  db: AnyDb,
  filter: InitialAccessTokenFilter,
  page: PageRequest,
  now: Date,
): Promise<Page<InitialAccessTokenView>> {
  const at = now.toISOString();
  let q = db.selectFrom('initial_access_tokens').selectAll();
  if (filter.orgId !== undefined) q = q.where('org_id', '=', filter.orgId);
  switch (filter.status) {
    case 'revoked':
      q = q.where('revoked_at', 'is not', null);
      break;
    case 'expired':
      q = q.where('revoked_at', 'is', null).where('expires_at', '<=', at);
      break;
    case 'exhausted':
      q = q
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .where((eb) => eb('used_count', '>=', eb.ref('max_uses')));
      break;
    case 'active':
      q = q
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .where((eb) => eb('used_count', '<', eb.ref('max_uses')));
      break;
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
  return { items: paged.items.map((row) => view(row, now)), next_cursor: paged.next_cursor };
}

/**
 * Revokes a token: registration refuses it from now on. Clients already registered with it stay; they are
 * suspended or deleted like any other client. Revoking a revoked token changes nothing and is not audited again.
 */
export async function revokeInitialAccessToken(
  tx: Tx,
  id: string,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<{ changed: boolean; token: InitialAccessTokenView }> {
  const row = await tx.db
    .selectFrom('initial_access_tokens')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('initial access token', id);
  if (row.revoked_at !== null) return { changed: false, token: view(row, meta.now) };
  const revokedAt = meta.now.toISOString();
  await tx.db
    .updateTable('initial_access_tokens')
    .set({ revoked_at: revokedAt })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'initial_access_token.revoke',
      targetType: 'initial_access_token',
      targetId: id,
      details: {
        org_id: row.org_id,
        used_count: Number(row.used_count),
        ...(meta.reason ? { reason: meta.reason } : {}),
      },
    },
    meta.now,
  );
  return { changed: true, token: view({ ...row, revoked_at: revokedAt }, meta.now) };
}
