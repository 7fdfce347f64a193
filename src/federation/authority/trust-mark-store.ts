import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { directoryStore } from '../../directory/index.ts';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { CHANGE_KINDS, type Database, keysetAfter, publishChange, type Tx } from '../../storage/index.ts';
import type { AuthorityActionMeta } from './action-meta.ts';

type AnyDb = Kysely<Database> | Tx['db'];
type Row = Database['federation_trust_marks'];

/** A Trust Mark type the platform issues; `roles`, when not empty, are directory roles the subject's organisation needs one of. */
export interface TrustMarkTypeConfig {
  type: string;
  roles: string[];
}

export interface TrustMarkView {
  id: string;
  trust_mark_type: string;
  sub: string;
  iat: number;
  exp: number | null;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  created_at: string;
}

export const trustMarkView = (row: Row): TrustMarkView => ({
  id: row.id,
  trust_mark_type: row.trust_mark_type,
  sub: row.sub,
  iat: Number(row.iat),
  exp: row.exp === null ? null : Number(row.exp),
  status: row.status,
  revoked_at: row.revoked_at,
  created_at: row.created_at,
});

/**
 * The claims of the Trust Mark JWT (§7.1); `jti` lets the status endpoint find the exact instance. `id` repeats
 * `trust_mark_type` under its pre-final name: §7.1 allows additional claims, and libraries that still require
 * `id` (@openid-federation/core 0.2, @sphereon/openid-federation-client 0.20) refuse the mark without it.
 */
export function trustMarkClaims(mark: TrustMarkView, issuer: string): Record<string, unknown> {
  return {
    iss: issuer,
    sub: mark.sub,
    trust_mark_type: mark.trust_mark_type,
    id: mark.trust_mark_type,
    iat: mark.iat,
    ...(mark.exp === null ? {} : { exp: mark.exp }),
    jti: mark.id,
  };
}

const MAX_LIFETIME_SECONDS = 10 * 366 * 86400;

export interface IssueTrustMarkInput {
  trustMarkType: string;
  sub: string;
  /** Lifetime in seconds; absent means the mark does not expire (§7.1 `exp` is OPTIONAL). */
  expiresIn?: number | undefined;
}

/**
 * Issues a Trust Mark of a configured type to an active subordinate whose organisation is active and, when the
 * type names roles, holds one of them.
 */
export async function issueTrustMark(
  tx: Tx,
  input: IssueTrustMarkInput,
  types: readonly TrustMarkTypeConfig[],
  meta: AuthorityActionMeta,
): Promise<TrustMarkView> {
  const type = types.find((t) => t.type === input.trustMarkType);
  if (!type) {
    throw new AppError(
      'unknown_trust_mark_type',
      400,
      `the platform does not issue trust marks of type ${input.trustMarkType}`,
      {
        field: 'trust_mark_type',
        issued_types: types.map((t) => t.type),
      },
    );
  }
  if (
    input.expiresIn !== undefined &&
    (!Number.isInteger(input.expiresIn) || input.expiresIn < 60 || input.expiresIn > MAX_LIFETIME_SECONDS)
  ) {
    throw invalidInput(`expires_in must be an integer from 60 to ${MAX_LIFETIME_SECONDS} seconds`, {
      field: 'expires_in',
    });
  }
  const directory = directoryStore(tx.db);
  const subordinate = await tx.db
    .selectFrom('federation_subordinates')
    .select(['entity_id', 'status', 'org_id'])
    .where('entity_id', '=', input.sub)
    .executeTakeFirst();
  const orgStatus = subordinate && (await directory.organisationStatus(subordinate.org_id));
  const subject = subordinate && orgStatus ? { ...subordinate, org_status: orgStatus } : undefined;
  if (subject?.status !== 'active') throw notFound('federation subordinate', input.sub);
  if (subject.org_status !== 'active') {
    throw new AppError(
      'organisation_inactive',
      409,
      `organisation ${subject.org_id} is ${subject.org_status}`,
    );
  }
  if (type.roles.length > 0) {
    const held = (await directory.organisationRoles(subject.org_id)).some((r) => type.roles.includes(r));
    if (!held) {
      throw new AppError(
        'role_required',
        409,
        `trust marks of type ${type.type} need the organisation to hold one of: ${type.roles.join(', ')}`,
      );
    }
  }
  const iat = Math.floor(meta.now.getTime() / 1000);
  const row: Row = {
    id: randomUUID(),
    trust_mark_type: type.type,
    sub: input.sub,
    iat,
    exp: input.expiresIn === undefined ? null : iat + input.expiresIn,
    status: 'active',
    revoked_at: null,
    created_at: meta.now.toISOString(),
  };
  await tx.db.insertInto('federation_trust_marks').values(row).execute();
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.federationTrustMark,
      entityId: row.id,
      payload: { status: 'active', sub: row.sub, trust_mark_type: row.trust_mark_type },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.trust_mark.issue',
      targetType: 'federation_trust_mark',
      targetId: row.id,
      details: { trust_mark_type: row.trust_mark_type, sub: row.sub, exp: row.exp },
    },
    meta.now,
  );
  return trustMarkView(row);
}

async function markRevoked(
  tx: Tx,
  row: Row,
  meta: AuthorityActionMeta,
  reason: string | undefined,
): Promise<void> {
  await tx.db
    .updateTable('federation_trust_marks')
    .set({ status: 'revoked', revoked_at: meta.now.toISOString() })
    .where('id', '=', row.id)
    .execute();
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.federationTrustMark,
      entityId: row.id,
      payload: { status: 'revoked', sub: row.sub, trust_mark_type: row.trust_mark_type },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.trust_mark.revoke',
      targetType: 'federation_trust_mark',
      targetId: row.id,
      details: { trust_mark_type: row.trust_mark_type, sub: row.sub, ...(reason ? { reason } : {}) },
    },
    meta.now,
  );
}

/** Revokes one Trust Mark; the status endpoint answers `revoked` for it from the moment of commit. */
export async function revokeTrustMark(
  tx: Tx,
  id: string,
  meta: AuthorityActionMeta & { reason?: string | undefined },
): Promise<TrustMarkView> {
  const row = await tx.db
    .selectFrom('federation_trust_marks')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('trust mark', id);
  if (row.status === 'revoked') throw new AppError('conflict', 409, `trust mark ${id} is already revoked`);
  await markRevoked(tx, row, meta, meta.reason);
  return getTrustMark(tx.db, id);
}

/** Revokes every active Trust Mark of a subject (when the subordinate is removed); returns their ids. */
export async function revokeTrustMarksOfSubject(
  tx: Tx,
  sub: string,
  meta: AuthorityActionMeta,
): Promise<string[]> {
  const rows = await tx.db
    .selectFrom('federation_trust_marks')
    .selectAll()
    .where('sub', '=', sub)
    .where('status', '=', 'active')
    .execute();
  for (const row of rows) await markRevoked(tx, row, meta, 'subordinate removed');
  return rows.map((r) => r.id);
}

export async function getTrustMark(db: AnyDb, id: string): Promise<TrustMarkView> {
  const row = await db
    .selectFrom('federation_trust_marks')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('trust mark', id);
  return trustMarkView(row);
}

export interface TrustMarkFilter {
  sub?: string | undefined;
  trustMarkType?: string | undefined;
  status?: 'active' | 'revoked' | undefined;
}

export async function listTrustMarks(db: AnyDb, filter: TrustMarkFilter = {}): Promise<TrustMarkView[]> {
  let q = db.selectFrom('federation_trust_marks').selectAll().orderBy('created_at').orderBy('id');
  if (filter.sub) q = q.where('sub', '=', filter.sub);
  if (filter.trustMarkType) q = q.where('trust_mark_type', '=', filter.trustMarkType);
  if (filter.status) q = q.where('status', '=', filter.status);
  return (await q.execute()).map(trustMarkView);
}

/** Trust mark pages: oldest first by (created_at, id). */
export const TRUST_MARK_PAGE_KEY_LENGTH = 2;

/** One page of issued trust marks, keyset-paged oldest first by (created_at, id) after `page.after`. */
export async function listTrustMarksPage(
  db: AnyDb,
  filter: TrustMarkFilter,
  page: PageRequest,
): Promise<Page<TrustMarkView>> {
  let q = db.selectFrom('federation_trust_marks').selectAll();
  if (filter.sub) q = q.where('sub', '=', filter.sub);
  if (filter.trustMarkType) q = q.where('trust_mark_type', '=', filter.trustMarkType);
  if (filter.status) q = q.where('status', '=', filter.status);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after));
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
  return { items: paged.items.map(trustMarkView), next_cursor: paged.next_cursor };
}
