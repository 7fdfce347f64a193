import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../storage/index.ts';

/** Operator console roles: administrators change things, auditors read everything and change nothing. */
export const OPERATOR_ROLES = ['administrator', 'auditor'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export async function operatorRoleOf(
  db: Kysely<Database> | Tx['db'],
  accountId: string,
): Promise<OperatorRole | undefined> {
  const row = await db
    .selectFrom('operator_accounts')
    .select('role')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row?.role;
}

export async function listOperatorAccounts(
  db: Kysely<Database>,
): Promise<Array<{ accountId: string; role: OperatorRole; createdAt: string; createdBy: string }>> {
  const rows = await db.selectFrom('operator_accounts').selectAll().orderBy('created_at').execute();
  return rows.map((r) => ({
    accountId: r.account_id,
    role: r.role,
    createdAt: r.created_at,
    createdBy: r.created_by,
  }));
}

/** How many accounts hold an operator role. */
export async function countOperatorAccounts(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('operator_accounts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The sort key of an operator-account page: oldest grant first, ties by account id. */
export const OPERATOR_ACCOUNT_PAGE_KEY = ['created_at', 'account_id'] as const;

/** One page of operator accounts (oldest grant first), optionally of one role. */
export async function listOperatorAccountsPage(
  db: Kysely<Database>,
  filter: { role?: OperatorRole | undefined },
  page: PageRequest,
): Promise<Page<{ accountId: string; role: OperatorRole; createdAt: string; createdBy: string }>> {
  let q = db.selectFrom('operator_accounts').selectAll();
  if (filter.role) q = q.where('role', '=', filter.role);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, OPERATOR_ACCOUNT_PAGE_KEY, after));
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
      createdBy: r.created_by,
    })),
    next_cursor: paged.next_cursor,
  };
}

/** Grants (or changes) an account's operator role, audited. */
export async function setOperatorRole(
  tx: Tx,
  accountId: string,
  role: OperatorRole,
  meta: { actor: string; now: Date },
): Promise<void> {
  const existing = await operatorRoleOf(tx.db, accountId);
  if (existing) {
    await tx.db.updateTable('operator_accounts').set({ role }).where('account_id', '=', accountId).execute();
  } else {
    await tx.db
      .insertInto('operator_accounts')
      .values({ account_id: accountId, role, created_at: meta.now.toISOString(), created_by: meta.actor })
      .execute();
  }
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'operator_account.set_role',
      targetType: 'account',
      targetId: accountId,
      details: { role, previous: existing ?? null },
    },
    meta.now,
  );
}

/** Takes an account's operator role away, audited; false when it had none. */
export async function removeOperatorRole(tx: Tx, accountId: string, meta: { actor: string; now: Date }) {
  const existing = await operatorRoleOf(tx.db, accountId);
  if (!existing) return false;
  await tx.db.deleteFrom('operator_accounts').where('account_id', '=', accountId).execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'operator_account.remove',
      targetType: 'account',
      targetId: accountId,
      details: { role: existing },
    },
    meta.now,
  );
  return true;
}
