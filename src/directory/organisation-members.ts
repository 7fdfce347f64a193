import type { Kysely } from 'kysely';
import type { Database, Tx } from '../storage/index.ts';

/** What a member may do in the partner portal: org_admin ⊃ developer ⊃ viewer. */
export const MEMBER_ROLES = ['org_admin', 'developer', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

const RANK: Record<MemberRole, number> = { viewer: 1, developer: 2, org_admin: 3 };

/** True when `held` allows what `needed` allows. */
export const memberRoleAtLeast = (held: MemberRole, needed: MemberRole): boolean =>
  RANK[held] >= RANK[needed];

export interface MembershipView {
  orgId: string;
  orgName: string;
  orgStatus: 'active' | 'suspended' | 'offboarded';
  role: MemberRole;
}

type Db = Kysely<Database> | Tx['db'];

/** Every organisation an account acts for, with its role there (offboarded organisations left out). */
export async function listMemberships(db: Db, accountId: string): Promise<MembershipView[]> {
  const rows = await db
    .selectFrom('organisation_members as m')
    .innerJoin('organisations as o', 'o.id', 'm.org_id')
    .select(['m.org_id', 'o.name', 'o.status', 'm.role'])
    .where('m.account_id', '=', accountId)
    .where('o.status', '!=', 'offboarded')
    .orderBy('o.name')
    .execute();
  return rows.map((r) => ({ orgId: r.org_id, orgName: r.name, orgStatus: r.status, role: r.role }));
}

/** The account's role in the organisation, or undefined when it is not a member. */
export async function memberRoleOf(
  db: Db,
  orgId: string,
  accountId: string,
): Promise<MemberRole | undefined> {
  const row = await db
    .selectFrom('organisation_members')
    .select('role')
    .where('org_id', '=', orgId)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row?.role;
}

/** Adds (or re-roles) a member; the caller audits. */
export async function putMember(
  tx: Tx,
  input: { orgId: string; accountId: string; role: MemberRole },
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  const existing = await memberRoleOf(tx.db, input.orgId, input.accountId);
  if (existing) {
    await tx.db
      .updateTable('organisation_members')
      .set({ role: input.role, updated_at: at })
      .where('org_id', '=', input.orgId)
      .where('account_id', '=', input.accountId)
      .execute();
    return;
  }
  await tx.db
    .insertInto('organisation_members')
    .values({
      org_id: input.orgId,
      account_id: input.accountId,
      role: input.role,
      created_at: at,
      updated_at: at,
    })
    .execute();
}
