import type { Kysely } from 'kysely';
import { countOperatorAccounts } from '../../console/index.ts';
import { listRoleHoldersPage, organisationNames, roleHolderCounts } from '../../directory/index.ts';
import { expiringPartnerCertificatesPage, expiringView } from '../../pki/index.ts';
import type { PageRequest } from '../../shared/page-cursor.ts';
import type { Database } from '../../storage/index.ts';
import { listInactiveClientsPage } from '../inactive-clients.ts';

const DAY_MS = 86_400_000;

/**
 * The access-review pages as the admin API answers them (issue 16), built the same way on the main thread and
 * in the list worker (`list-worker.ts`), which reads them off the event loop the gateway shares.
 */
/** The summary: live holders (and expired grants) per role, how many accounts hold an operator role. */
export async function accessReviewSummary(db: Kysely<Database>, now: Date) {
  const [roles, operators] = await Promise.all([roleHolderCounts(db, now), countOperatorAccounts(db)]);
  return { generated_at: now.toISOString(), roles, operators };
}

export async function roleHoldersAnswer(
  db: Kysely<Database>,
  filter: { role?: string | undefined },
  page: PageRequest,
  now: Date,
) {
  return { generated_at: now.toISOString(), ...(await listRoleHoldersPage(db, filter, page, now)) };
}

export async function inactiveClientsAnswer(
  db: Kysely<Database>,
  inactiveDays: number,
  page: PageRequest,
  now: Date,
) {
  const cutoff = new Date(now.getTime() - inactiveDays * DAY_MS);
  return {
    generated_at: now.toISOString(),
    inactive_days: inactiveDays,
    ...(await listInactiveClientsPage(db, now, cutoff, page)),
  };
}

export async function expiringCertificatesAnswer(
  db: Kysely<Database>,
  expiringDays: number,
  page: PageRequest,
  now: Date,
) {
  const horizon = new Date(now.getTime() + expiringDays * DAY_MS);
  const found = await expiringPartnerCertificatesPage(db, now, horizon, page);
  const names = await organisationNames(db, [
    ...new Set(found.items.flatMap((i) => (i.orgId ? [i.orgId] : []))),
  ]);
  return {
    generated_at: now.toISOString(),
    expiring_days: expiringDays,
    items: found.items.map((item) => ({
      ...expiringView(item, now),
      organisation: item.orgId ? (names.get(item.orgId) ?? null) : null,
    })),
    next_cursor: found.next_cursor,
  };
}
