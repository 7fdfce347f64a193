import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, invalidInput, notFound } from '../shared/app-error.ts';
import { CHANGE_KINDS, type Database, publishChange, type Tx } from '../storage/index.ts';
import { checkRoles, requireApplication } from './applications.ts';
import type { ActionMeta } from './context.ts';

/**
 * Role grants to applications, optionally time-bound (the guide: roles "narrow, time-bound where possible"):
 * a grant past its `expires_at` grants nothing from then on. Scopes are computed whenever a client is loaded
 * for a token, so its next token no longer carries the role's scopes; tokens already issued keep theirs until
 * they expire (revoke them to take access away at once).
 */
export interface RoleGrantView {
  role: string;
  expires_at: string | null;
  expired: boolean;
}

type Reader = Kysely<Database> | Tx['db'];

const live = (expiresAt: string | null | undefined, now: Date) =>
  expiresAt === null || expiresAt === undefined || expiresAt > now.toISOString();

/** The roles an application holds at `now`, sorted. */
export async function liveRoles(db: Reader, clientId: string, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('application_roles')
    .select(['role', 'expires_at'])
    .where('client_id', '=', clientId)
    .orderBy('role')
    .execute();
  return rows.filter((r) => live(r.expires_at, now)).map((r) => r.role);
}

/** Every grant of the given applications (all when undefined), expired ones marked. */
export async function roleGrants(
  db: Reader,
  clientIds: readonly string[] | undefined,
  now: Date,
): Promise<Array<RoleGrantView & { client_id: string }>> {
  let q = db.selectFrom('application_roles').select(['client_id', 'role', 'expires_at']).orderBy('role');
  if (clientIds !== undefined) {
    if (clientIds.length === 0) return [];
    q = q.where('client_id', 'in', [...clientIds]);
  }
  return (await q.execute()).map((r) => ({
    client_id: r.client_id,
    role: r.role,
    expires_at: r.expires_at ?? null,
    expired: !live(r.expires_at, now),
  }));
}

function parseExpiry(expiresAt: string | null | undefined, now: Date): string | null {
  if (expiresAt === null || expiresAt === undefined) return null;
  const at = new Date(expiresAt);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(expiresAt) || Number.isNaN(at.getTime())) {
    throw invalidInput('expires_at must be an RFC 3339 date-time, e.g. 2027-03-31T00:00:00Z', {
      field: 'expires_at',
    });
  }
  if (at.getTime() <= now.getTime()) {
    throw invalidInput('expires_at must be in the future', { field: 'expires_at' });
  }
  return at.toISOString();
}

/**
 * Grants `role` to the application until `expiresAt` (null: no end); granting a role it holds sets the end
 * anew. The role must exist, be active (a deprecated role is kept by whoever holds it, granted to nobody new)
 * and be approved for the application's organisation.
 */
export async function grantApplicationRole(
  tx: Tx,
  input: { clientId: string; role: string; expiresAt?: string | null },
  meta: ActionMeta,
): Promise<RoleGrantView> {
  const app = await requireApplication(tx.db, input.clientId);
  if (app.status !== 'active') {
    throw new AppError('application_not_active', 409, `application ${app.client_id} is ${app.status}`);
  }
  const expiresAt = parseExpiry(input.expiresAt, meta.now);
  const held = await tx.db
    .selectFrom('application_roles')
    .select(['role', 'expires_at'])
    .where('client_id', '=', app.client_id)
    .where('role', '=', input.role)
    .executeTakeFirst();
  // An expired grant is not held: renewing it is a new grant, refused for a deprecated role.
  const stillHeld = held !== undefined && live(held.expires_at, meta.now);
  await checkRoles(tx, app.org_id, [input.role], stillHeld ? [input.role] : []);
  await tx.db
    .insertInto('application_roles')
    .values({ client_id: app.client_id, role: input.role, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['client_id', 'role']).doUpdateSet({ expires_at: expiresAt }))
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.role.grant',
      targetType: 'application',
      targetId: app.client_id,
      details: {
        role: input.role,
        expires_at: expiresAt,
        previous_expires_at: held?.expires_at ?? null,
        renewed: held !== undefined,
      },
    },
    meta.now,
  );
  // Access-affecting: the authorization server's token cache drops what it kept (next token, new scopes).
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appRoles,
      entityId: app.client_id,
      payload: { org_id: app.org_id, role: input.role, action: 'granted', expires_at: expiresAt },
    },
    meta.now,
  );
  return { role: input.role, expires_at: expiresAt, expired: false };
}

/** Takes a role away: the application's next token no longer carries its scopes. */
export async function revokeApplicationRole(
  tx: Tx,
  input: { clientId: string; role: string },
  meta: ActionMeta,
): Promise<void> {
  const app = await requireApplication(tx.db, input.clientId);
  const removed = await tx.db
    .deleteFrom('application_roles')
    .where('client_id', '=', app.client_id)
    .where('role', '=', input.role)
    .executeTakeFirst();
  if (Number(removed.numDeletedRows) === 0)
    throw notFound(`role grant ${input.role} of application`, app.client_id);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.role.revoke',
      targetType: 'application',
      targetId: app.client_id,
      details: { role: input.role },
    },
    meta.now,
  );
  // Access-affecting: the application's next token no longer carries the role's scopes (token cache).
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appRoles,
      entityId: app.client_id,
      payload: { org_id: app.org_id, role: input.role, action: 'revoked', expires_at: null },
    },
    meta.now,
  );
}

/**
 * Approves `role` for an organisation: its applications may then be granted it. A deprecated role is approved
 * for nobody new.
 */
export async function approveOrganisationRole(
  tx: Tx,
  input: { orgId: string; role: string },
  meta: ActionMeta,
): Promise<void> {
  const org = await tx.db
    .selectFrom('organisations')
    .select(['id', 'status'])
    .where('id', '=', input.orgId)
    .executeTakeFirst();
  if (!org) throw notFound('organisation', input.orgId);
  const role = await tx.db
    .selectFrom('roles')
    .select(['name', 'status'])
    .where('name', '=', input.role)
    .executeTakeFirst();
  if (!role) throw invalidInput(`unknown role: ${input.role}`, { field: 'role', unknown: [input.role] });
  const approved = await tx.db
    .selectFrom('organisation_roles')
    .select('role')
    .where('org_id', '=', org.id)
    .where('role', '=', role.name)
    .executeTakeFirst();
  if (approved) return;
  if (role.status === 'deprecated') {
    throw new AppError('role_deprecated', 409, `role deprecated, no new approvals: ${role.name}`, {
      field: 'role',
      deprecated: [role.name],
    });
  }
  await tx.db.insertInto('organisation_roles').values({ org_id: org.id, role: role.name }).execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.role.approve',
      targetType: 'organisation',
      targetId: org.id,
      details: { role: role.name },
    },
    meta.now,
  );
}

/** Withdraws an organisation's approval of `role`; refused (409) while one of its applications holds it. */
export async function withdrawOrganisationRole(
  tx: Tx,
  input: { orgId: string; role: string },
  meta: ActionMeta,
): Promise<void> {
  const holders = (
    await tx.db
      .selectFrom('application_roles')
      .innerJoin('applications', 'applications.client_id', 'application_roles.client_id')
      .select(['applications.client_id', 'application_roles.expires_at'])
      .where('applications.org_id', '=', input.orgId)
      .where('applications.status', '!=', 'deleted')
      .where('application_roles.role', '=', input.role)
      .execute()
  ).filter((h) => live(h.expires_at, meta.now));
  if (holders.length > 0) {
    throw new AppError(
      'role_in_use',
      409,
      `role ${input.role} is held by ${holders.length} application(s) of organisation ${input.orgId}; revoke it from them first`,
      { applications: holders.map((h) => h.client_id) },
    );
  }
  const removed = await tx.db
    .deleteFrom('organisation_roles')
    .where('org_id', '=', input.orgId)
    .where('role', '=', input.role)
    .executeTakeFirst();
  if (Number(removed.numDeletedRows) === 0)
    throw notFound(`role approval ${input.role} of organisation`, input.orgId);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.role.withdraw',
      targetType: 'organisation',
      targetId: input.orgId,
      details: { role: input.role },
    },
    meta.now,
  );
}
