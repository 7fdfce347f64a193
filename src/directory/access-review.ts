import { type Kysely, sql } from 'kysely';
import type { PageRequest } from '../shared/page-cursor.ts';
import { toPage } from '../shared/page-cursor.ts';
import { bytewiseKeyset, type Database, keysetAfter } from '../storage/index.ts';

/**
 * The directory's part of the access reviews (issue 16): role holders as counts per role and keyset pages of
 * holders, and the active applications the "clients without traffic" review walks — each read along an index
 * in its page order, so a page costs the same at 100 and at 100,000 applications.
 */

/** Per role: how many live applications hold it, and how many of those grants have expired. */
export async function roleHolderCounts(
  db: Kysely<Database>,
  now: Date,
): Promise<Array<{ role: string; holders: number; expired: number }>> {
  const at = now.toISOString();
  const rows = await db
    .selectFrom('application_roles as r')
    .innerJoin('applications as a', 'a.client_id', 'r.client_id')
    .select((eb) => [
      'r.role',
      eb.fn.countAll<string>().as('holders'),
      sql<string>`SUM(CASE WHEN r.expires_at IS NOT NULL AND r.expires_at <= ${at} THEN 1 ELSE 0 END)`.as(
        'expired',
      ),
    ])
    .where('a.status', '!=', 'deleted')
    .groupBy('r.role')
    .orderBy('r.role')
    .execute();
  return rows.map((r) => ({ role: r.role, holders: Number(r.holders), expired: Number(r.expired ?? 0) }));
}

/** The sort key of a role-holder page: by role, then client_id. */
export const ROLE_HOLDER_PAGE_KEY = ['r.role', 'r.client_id'] as const;

export interface RoleHolderView {
  role: string;
  client_id: string;
  application: string;
  status: string;
  org_id: string;
  organisation: string | null;
  environment: 'sandbox' | 'production';
  expires_at: string | null;
  expired: boolean;
}

/** One page of role holders (every grant of a live application, expired ones marked), by (role, client_id). */
export async function listRoleHoldersPage(
  db: Kysely<Database>,
  filter: { role?: string | undefined },
  page: PageRequest,
  now: Date,
) {
  let q = db
    .selectFrom('application_roles as r')
    .innerJoin('applications as a', 'a.client_id', 'r.client_id')
    .leftJoin('organisations as o', 'o.id', 'a.org_id')
    .select([
      'r.role',
      'r.client_id',
      'r.expires_at',
      'a.name as application',
      'a.status',
      'a.org_id',
      'a.environment',
      'o.name as organisation',
    ])
    .where('a.status', '!=', 'deleted');
  if (filter.role !== undefined) q = q.where('r.role', '=', filter.role);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ROLE_HOLDER_PAGE_KEY, after));
  const rows = await q
    .orderBy('r.role')
    .orderBy('r.client_id')
    .limit(page.limit + 1)
    .execute();
  const at = now.toISOString();
  const paged = toPage(rows, page.limit, (r) => [r.role, r.client_id]);
  return {
    items: paged.items.map(
      (r): RoleHolderView => ({
        role: r.role,
        client_id: r.client_id,
        application: r.application,
        status: r.status,
        org_id: r.org_id,
        organisation: r.organisation ?? null,
        environment: r.environment ?? 'production',
        expires_at: r.expires_at ?? null,
        expired: r.expires_at !== null && r.expires_at !== undefined && r.expires_at <= at,
      }),
    ),
    next_cursor: paged.next_cursor,
  };
}

export interface ReviewedApplication {
  client_id: string;
  application: string;
  org_id: string;
  organisation: string | null;
  environment: 'sandbox' | 'production';
  created_at: string;
}

function reviewedApplications(db: Kysely<Database>) {
  return db
    .selectFrom('applications as a')
    .leftJoin('organisations as o', 'o.id', 'a.org_id')
    .select([
      'a.client_id',
      'a.name as application',
      'a.org_id',
      'o.name as organisation',
      'a.environment',
      'a.created_at',
    ])
    .where('a.status', '=', 'active');
}

const reviewed = (r: {
  client_id: string;
  application: string;
  org_id: string;
  organisation: string | null;
  environment: 'sandbox' | 'production' | null | undefined;
  created_at: string;
}): ReviewedApplication => ({
  ...r,
  organisation: r.organisation ?? null,
  environment: r.environment ?? 'production',
});

/**
 * Active applications created at or before `createdUpTo`, oldest first by (created_at, client_id) after
 * `after`, at most `limit` (the "never seen" side of the clients-without-traffic review).
 */
export async function activeApplicationsCreatedBy(
  db: Kysely<Database>,
  createdUpTo: string,
  after: ReadonlyArray<string | number> | undefined,
  limit: number,
): Promise<ReviewedApplication[]> {
  // Client ids in code-unit order on both engines: the page is merged in code with another walk.
  const keyset = bytewiseKeyset(db, ['a.created_at', 'a.client_id']);
  let q = reviewedApplications(db).where('a.created_at', '<=', createdUpTo);
  if (after) q = q.where(keyset.after(after));
  const rows = await q.orderBy(keyset.orderBy[0]).orderBy(keyset.orderBy[1]).limit(limit).execute();
  return rows.map(reviewed);
}

/** Which of the given applications are active, with their organisation's name (a page's worth of ids). */
export async function activeApplicationsAmong(
  db: Kysely<Database>,
  clientIds: readonly string[],
): Promise<Map<string, ReviewedApplication>> {
  if (clientIds.length === 0) return new Map();
  const rows = await reviewedApplications(db)
    .where('a.client_id', 'in', [...clientIds])
    .execute();
  return new Map(rows.map((r) => [r.client_id, reviewed(r)]));
}
