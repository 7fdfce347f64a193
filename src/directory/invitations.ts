import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, conflict, notFound } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import { type Database, keysetAfter, lockJournal, type Tx } from '../storage/index.ts';
import { MEMBER_ROLES, type MemberRole, memberRoleOf, putMember } from './organisation-members.ts';

/**
 * One-time invitations into a partner organisation (issue 15). The link carries a 256-bit random secret; the
 * table keeps only its SHA-256, so a database leak hands out no invitation. An invitation is used once: the
 * accept is one conditional UPDATE (unused, not revoked, not expired), so of two concurrent accepts one wins.
 */
export const DEFAULT_INVITATION_TTL_MS = 7 * 86_400_000;

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface InvitationView {
  id: string;
  orgId: string;
  role: MemberRole;
  email: string | null;
  status: InvitationStatus;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  acceptedBy: string | null;
  revokedAt: string | null;
}

type Db = Kysely<Database> | Tx['db'];
type Row = Database['member_invitations'];

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export const gone = (message: string) => new AppError('invitation_gone', 410, message);

function statusOf(row: Row, now: Date): InvitationStatus {
  if (row.accepted_at) return 'accepted';
  if (row.revoked_at) return 'revoked';
  return row.expires_at <= now.toISOString() ? 'expired' : 'pending';
}

function view(row: Row, now: Date): InvitationView {
  return {
    id: row.id,
    orgId: row.org_id,
    role: row.role,
    email: row.email,
    status: statusOf(row, now),
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    revokedAt: row.revoked_at,
  };
}

/** Invites someone into an organisation with a role; returns the one-time token (shown once), audited. */
export async function createInvitation(
  tx: Tx,
  input: { orgId: string; role: MemberRole; email?: string | null; ttlMs?: number },
  meta: { actor: string; now: Date },
): Promise<{ invitation: InvitationView; token: string }> {
  if (!MEMBER_ROLES.includes(input.role)) throw new AppError('invalid_input', 400, 'unknown member role');
  const org = await tx.db
    .selectFrom('organisations')
    .select(['id', 'status'])
    .where('id', '=', input.orgId)
    .executeTakeFirst();
  if (!org || org.status === 'offboarded') throw notFound('organisation', input.orgId);
  const token = randomBytes(32).toString('base64url');
  const at = meta.now.toISOString();
  const row: Row = {
    id: randomUUID(),
    org_id: input.orgId,
    role: input.role,
    email: input.email ?? null,
    token_hash: hashOf(token),
    created_by: meta.actor,
    created_at: at,
    expires_at: new Date(meta.now.getTime() + (input.ttlMs ?? DEFAULT_INVITATION_TTL_MS)).toISOString(),
    accepted_at: null,
    accepted_by: null,
    revoked_at: null,
  };
  await tx.db.insertInto('member_invitations').values(row).execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'invitation.create',
      targetType: 'organisation',
      targetId: input.orgId,
      details: { invitation: row.id, role: input.role, email: row.email },
    },
    meta.now,
  );
  return { invitation: view(row, meta.now), token };
}

/** The organisation's invitations, newest first. */
export async function listInvitations(db: Db, orgId: string, now: Date): Promise<InvitationView[]> {
  const rows = await db
    .selectFrom('member_invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => view(r, now));
}

export interface InvitationFilter {
  status?: InvitationStatus | undefined;
  role?: MemberRole | undefined;
  /** Start of the invited e-mail address (compared case-insensitively). */
  emailPrefix?: string | undefined;
}

/** The sort key of an invitation page: newest first, ties by id. */
export const INVITATION_PAGE_KEY = ['created_at', 'id'] as const;

/** `LIKE` pattern matching values that start with `prefix` (wildcards in it escaped). */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of the organisation's invitations, newest first, keyset-paged by (created_at, id) descending.
 * The status filter is the same rule as `statusOf`, in SQL, so a page is never short because of it.
 */
export async function listInvitationsPage(
  db: Db,
  orgId: string,
  filter: InvitationFilter,
  page: PageRequest,
  now: Date,
): Promise<Page<InvitationView>> {
  const at = now.toISOString();
  let q = db.selectFrom('member_invitations').selectAll().where('org_id', '=', orgId);
  if (filter.role) q = q.where('role', '=', filter.role);
  if (filter.emailPrefix) {
    const pattern = likePrefix(filter.emailPrefix.trim().toLowerCase());
    q = q.where(sql<boolean>`lower(email) LIKE ${pattern} ESCAPE '\\'`);
  }
  switch (filter.status) {
    case 'accepted':
      q = q.where('accepted_at', 'is not', null);
      break;
    case 'revoked':
      q = q.where('accepted_at', 'is', null).where('revoked_at', 'is not', null);
      break;
    case 'expired':
      q = q.where('accepted_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '<=', at);
      break;
    case 'pending':
      q = q.where('accepted_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '>', at);
      break;
    default:
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, INVITATION_PAGE_KEY, after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
  return { items: paged.items.map((r) => view(r, now)), next_cursor: paged.next_cursor };
}

/** Revokes a pending invitation of the organisation (another organisation's is not found), audited. */
export async function revokeInvitation(
  tx: Tx,
  orgId: string,
  id: string,
  meta: { actor: string; now: Date },
): Promise<InvitationView> {
  const row = await tx.db
    .selectFrom('member_invitations')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('invitation', id);
  const status = statusOf(row, meta.now);
  if (status !== 'pending') throw conflict(`invitation ${id} is ${status}`);
  const at = meta.now.toISOString();
  await tx.db
    .updateTable('member_invitations')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'invitation.revoke',
      targetType: 'organisation',
      targetId: orgId,
      details: { invitation: id },
    },
    meta.now,
  );
  return view({ ...row, revoked_at: at }, meta.now);
}

export interface InvitationLookup {
  invitation: InvitationView;
  orgName: string;
}

/** The invitation behind a link's token (undefined for a malformed or unknown one). */
export async function findInvitationByToken(
  db: Db,
  token: string,
  now: Date,
): Promise<InvitationLookup | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const row = await db
    .selectFrom('member_invitations as i')
    .innerJoin('organisations as o', 'o.id', 'i.org_id')
    .selectAll('i')
    .select(['o.name as org_name', 'o.status as org_status'])
    .where('i.token_hash', '=', hashOf(token))
    .executeTakeFirst();
  if (!row) return undefined;
  const invitation = view(row, now);
  // An offboarded organisation invites nobody any more.
  if (row.org_status === 'offboarded' && invitation.status === 'pending') invitation.status = 'revoked';
  return { invitation, orgName: row.org_name };
}

/**
 * Uses an invitation for an account: one conditional UPDATE (pending, unexpired), then the membership, in the
 * caller's transaction; audited. 404 for an unknown token, 410 for one used, revoked or expired, 409 when the
 * account is already a member (the invitation stays unused).
 */
export async function acceptInvitation(
  tx: Tx,
  token: string,
  accountId: string,
  meta: { actor: string; now: Date },
): Promise<InvitationLookup> {
  const found = await findInvitationByToken(tx.db, token, meta.now);
  if (!found) throw new AppError('not_found', 404, 'no such invitation');
  if (found.invitation.status !== 'pending') throw gone(`this invitation is ${found.invitation.status}`);
  const { orgId, role, id } = found.invitation;
  if (await memberRoleOf(tx.db, orgId, accountId)) {
    throw new AppError('already_member', 409, 'this account is already a member of the organisation');
  }
  const at = meta.now.toISOString();
  const result = await tx.db
    .updateTable('member_invitations')
    .set({ accepted_at: at, accepted_by: accountId })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw gone('this invitation has been used');
  await putMember(tx, { orgId, accountId, role }, meta.now);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'invitation.accept',
      targetType: 'organisation',
      targetId: orgId,
      details: { invitation: id, account: accountId, role },
    },
    meta.now,
  );
  return {
    ...found,
    invitation: { ...found.invitation, status: 'accepted', acceptedAt: at, acceptedBy: accountId },
  };
}

export interface MemberView {
  accountId: string;
  role: MemberRole;
  createdAt: string;
  updatedAt: string;
}

/** The organisation's members (account details are the authorization server's: the caller adds them). */
export async function listMembers(db: Db, orgId: string): Promise<MemberView[]> {
  const rows = await db
    .selectFrom('organisation_members')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    accountId: r.account_id,
    role: r.role,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}

/** The sort key of a member page: longest-standing first, ties by account id. */
export const MEMBER_PAGE_KEY = ['created_at', 'account_id'] as const;

/** One page of the organisation's members (oldest membership first), optionally of one role. */
export async function listMembersPage(
  db: Db,
  orgId: string,
  filter: { role?: MemberRole | undefined },
  page: PageRequest,
): Promise<Page<MemberView>> {
  let q = db.selectFrom('organisation_members').selectAll().where('org_id', '=', orgId);
  if (filter.role) q = q.where('role', '=', filter.role);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, MEMBER_PAGE_KEY, after));
  const rows = await q
    .orderBy('created_at')
    .orderBy('account_id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.account_id]);
  return {
    items: paged.items.map((r) => ({
      accountId: r.account_id,
      role: r.role,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    })),
    next_cursor: paged.next_cursor,
  };
}

async function refuseLastAdmin(tx: Tx, orgId: string, accountId: string, what: string) {
  const admins = await tx.db
    .selectFrom('organisation_members')
    .select('account_id')
    .where('org_id', '=', orgId)
    .where('role', '=', 'org_admin')
    .execute();
  if (admins.length === 1 && admins[0]?.account_id === accountId) {
    throw new AppError('last_org_admin', 409, `the last org_admin of an organisation cannot be ${what}`);
  }
}

/** Changes a member's role; the last org_admin cannot be demoted (409). Audited. */
export async function changeMemberRole(
  tx: Tx,
  orgId: string,
  accountId: string,
  role: MemberRole,
  meta: { actor: string; now: Date },
): Promise<MemberView> {
  // Serialise member changes (PostgreSQL; SQLite has one writer): two org_admins demoting each other at
  // once must not both pass the last-admin check. The audit entry takes the same lock anyway.
  await lockJournal(tx);
  const previous = await memberRoleOf(tx.db, orgId, accountId);
  if (!previous) throw notFound('member', accountId);
  if (previous === 'org_admin' && role !== 'org_admin')
    await refuseLastAdmin(tx, orgId, accountId, 'demoted');
  await putMember(tx, { orgId, accountId, role }, meta.now);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'member.set_role',
      targetType: 'organisation',
      targetId: orgId,
      details: { account: accountId, role, previous },
    },
    meta.now,
  );
  const [member] = (await listMembers(tx.db, orgId)).filter((m) => m.accountId === accountId);
  return member as MemberView;
}

/** Removes a member; the last org_admin cannot be removed (409). Audited. */
export async function removeMember(
  tx: Tx,
  orgId: string,
  accountId: string,
  meta: { actor: string; now: Date },
): Promise<void> {
  // Serialise member changes (PostgreSQL; SQLite has one writer): two org_admins demoting each other at
  // once must not both pass the last-admin check. The audit entry takes the same lock anyway.
  await lockJournal(tx);
  const previous = await memberRoleOf(tx.db, orgId, accountId);
  if (!previous) throw notFound('member', accountId);
  if (previous === 'org_admin') await refuseLastAdmin(tx, orgId, accountId, 'removed');
  await tx.db
    .deleteFrom('organisation_members')
    .where('org_id', '=', orgId)
    .where('account_id', '=', accountId)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'member.remove',
      targetType: 'organisation',
      targetId: orgId,
      details: { account: accountId, role: previous },
    },
    meta.now,
  );
}
