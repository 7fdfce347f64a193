import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, invalidInput, notFound } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../storage/index.ts';
import { requireApplication } from './applications.ts';
import type { ActionMeta } from './context.ts';
import { approveOrganisationRole, grantApplicationRole } from './role-grants.ts';

/**
 * The approval queue (issue 15): roles partners ask for their applications wait here for an operator. Approving
 * approves the role for the organisation (if it was not yet) and grants it to the application, in one
 * transaction; rejecting needs a reason the partner sees.
 */
export type RoleRequestStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

export interface RoleRequestView {
  id: string;
  org_id: string;
  org_name: string;
  client_id: string;
  application_name: string;
  environment: 'sandbox' | 'production';
  role: string;
  status: RoleRequestStatus;
  requested_by: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

type Db = Kysely<Database> | Tx['db'];

function query(db: Db) {
  return db
    .selectFrom('role_requests as r')
    .innerJoin('applications as a', 'a.client_id', 'r.client_id')
    .innerJoin('organisations as o', 'o.id', 'r.org_id')
    .select([
      'r.id',
      'r.org_id',
      'o.name as org_name',
      'r.client_id',
      'a.name as application_name',
      'a.environment',
      'r.role',
      'r.status',
      'r.requested_by',
      'r.requested_at',
      'r.decided_by',
      'r.decided_at',
      'r.reason',
    ]);
}

const view = (r: Record<string, unknown>): RoleRequestView => ({
  ...(r as unknown as RoleRequestView),
  environment: (r.environment as 'sandbox' | 'production' | undefined) ?? 'production',
});

export async function listRoleRequests(
  db: Db,
  filter: { orgId?: string; clientId?: string; status?: RoleRequestStatus } = {},
): Promise<RoleRequestView[]> {
  let q = query(db);
  if (filter.orgId !== undefined) q = q.where('r.org_id', '=', filter.orgId);
  if (filter.clientId !== undefined) q = q.where('r.client_id', '=', filter.clientId);
  if (filter.status !== undefined) q = q.where('r.status', '=', filter.status);
  const rows = await q.orderBy('r.requested_at', 'desc').orderBy('r.id').execute();
  return rows.map(view);
}

/** One page of the approval queue, newest first, keyset-paged by (requested_at, id) descending. */
export async function listRoleRequestsPage(
  db: Db,
  filter: { orgId?: string; clientId?: string; status?: RoleRequestStatus },
  page: PageRequest,
): Promise<Page<RoleRequestView>> {
  let q = query(db);
  if (filter.orgId !== undefined) q = q.where('r.org_id', '=', filter.orgId);
  if (filter.clientId !== undefined) q = q.where('r.client_id', '=', filter.clientId);
  if (filter.status !== undefined) q = q.where('r.status', '=', filter.status);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['r.requested_at', 'r.id'], after, true));
  const rows = (
    await q
      .orderBy('r.requested_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(page.limit + 1)
      .execute()
  ).map(view);
  return toPage(rows, page.limit, (r) => [r.requested_at, r.id]);
}

/** One request; with `orgId`, only if it belongs to that organisation (else 404, as if it did not exist). */
export async function getRoleRequest(db: Db, id: string, orgId?: string): Promise<RoleRequestView> {
  let q = query(db).where('r.id', '=', id);
  if (orgId !== undefined) q = q.where('r.org_id', '=', orgId);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('role request', id);
  return view(row);
}

/** A partner asks for `role` for one of its organisation's applications. */
export async function createRoleRequest(
  tx: Tx,
  input: { orgId: string; clientId: string; role: string },
  meta: ActionMeta,
): Promise<RoleRequestView> {
  const app = await requireApplication(tx.db, input.clientId);
  if (app.org_id !== input.orgId) throw notFound('application', input.clientId);
  if (app.status !== 'active') {
    throw new AppError('application_not_active', 409, `application ${app.client_id} is ${app.status}`);
  }
  const role = await tx.db
    .selectFrom('roles')
    .select(['name', 'status'])
    .where('name', '=', input.role)
    .executeTakeFirst();
  if (!role) throw invalidInput(`unknown role: ${input.role}`, { field: 'role', unknown: [input.role] });
  if (role.status === 'deprecated') {
    throw new AppError('role_deprecated', 409, `role deprecated, no new grants: ${role.name}`);
  }
  const held = await tx.db
    .selectFrom('application_roles')
    .select(['role', 'expires_at'])
    .where('client_id', '=', app.client_id)
    .where('role', '=', role.name)
    .executeTakeFirst();
  if (
    held &&
    (held.expires_at === null || held.expires_at === undefined || held.expires_at > meta.now.toISOString())
  ) {
    throw new AppError('role_held', 409, `application ${app.client_id} already holds ${role.name}`);
  }
  const pending = await tx.db
    .selectFrom('role_requests')
    .select('id')
    .where('client_id', '=', app.client_id)
    .where('role', '=', role.name)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (pending)
    throw new AppError('role_request_pending', 409, `${role.name} is already requested (${pending.id})`);
  const id = randomUUID();
  await tx.db
    .insertInto('role_requests')
    .values({
      id,
      org_id: app.org_id,
      client_id: app.client_id,
      role: role.name,
      status: 'pending',
      requested_by: meta.actor,
      requested_at: meta.now.toISOString(),
      decided_by: null,
      decided_at: null,
      reason: null,
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'role_request.create',
      targetType: 'application',
      targetId: app.client_id,
      details: { request: id, role: role.name },
    },
    meta.now,
  );
  return getRoleRequest(tx.db, id);
}

async function pendingOf(tx: Tx, id: string, orgId?: string): Promise<RoleRequestView> {
  const request = await getRoleRequest(tx.db, id, orgId);
  if (request.status !== 'pending') {
    throw new AppError('role_request_decided', 409, `role request ${id} is ${request.status}`);
  }
  return request;
}

/** The partner takes a pending request back. */
export async function withdrawRoleRequest(
  tx: Tx,
  input: { id: string; orgId: string },
  meta: ActionMeta,
): Promise<RoleRequestView> {
  const request = await pendingOf(tx, input.id, input.orgId);
  await tx.db
    .updateTable('role_requests')
    .set({ status: 'withdrawn', decided_by: meta.actor, decided_at: meta.now.toISOString() })
    .where('id', '=', request.id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'role_request.withdraw',
      targetType: 'application',
      targetId: request.client_id,
      details: { request: request.id, role: request.role },
    },
    meta.now,
  );
  return getRoleRequest(tx.db, request.id);
}

/** An operator approves (organisation approval + grant, optionally time-bound) or rejects (reason required). */
export async function decideRoleRequest(
  tx: Tx,
  input: { id: string; approve: boolean; reason?: string | undefined; expiresAt?: string | null | undefined },
  meta: ActionMeta,
): Promise<RoleRequestView> {
  const request = await pendingOf(tx, input.id);
  const reason = input.reason?.trim() || null;
  if (!input.approve && !reason) throw invalidInput('a rejection needs a reason', { field: 'reason' });
  if (reason && reason.length > 500)
    throw invalidInput('reason: at most 500 characters', { field: 'reason' });
  if (input.approve) {
    await approveOrganisationRole(tx, { orgId: request.org_id, role: request.role }, meta);
    await grantApplicationRole(
      tx,
      { clientId: request.client_id, role: request.role, expiresAt: input.expiresAt ?? null },
      meta,
    );
  }
  await tx.db
    .updateTable('role_requests')
    .set({
      status: input.approve ? 'approved' : 'rejected',
      decided_by: meta.actor,
      decided_at: meta.now.toISOString(),
      reason,
    })
    .where('id', '=', request.id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: input.approve ? 'role_request.approve' : 'role_request.reject',
      targetType: 'application',
      targetId: request.client_id,
      details: { request: request.id, role: request.role, reason },
    },
    meta.now,
  );
  return getRoleRequest(tx.db, request.id);
}
