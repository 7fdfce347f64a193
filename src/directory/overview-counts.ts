import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** Counts by status, with `total`: the shape the operator overview returns for each kind of record. */
export type StatusCounts = Record<string, number> & { total: number };

/** Rows of `SELECT key, COUNT(*) … GROUP BY key` → `{ total, [key]: count }` (PostgreSQL counts are bigint). */
export function statusCounts(rows: ReadonlyArray<{ key: string | null; n: number | string | bigint }>) {
  const out: StatusCounts = { total: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    out.total += n;
    if (row.key !== null) out[row.key] = (out[row.key] ?? 0) + n;
  }
  return out;
}

/**
 * The directory's part of the operator overview (issue 16): organisations and applications by status (deleted
 * applications are not counted) and the role requests waiting for a decision, each one aggregate query, so the
 * overview costs the same at 100 and at 100,000 applications.
 */
export async function directoryOverviewCounts(db: Kysely<Database>): Promise<{
  organisations: StatusCounts;
  applications: StatusCounts;
  pendingRoleRequests: number;
}> {
  const [organisations, applications, pending] = await Promise.all([
    db
      .selectFrom('organisations')
      .select((eb) => ['status as key', eb.fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute(),
    db
      .selectFrom('applications')
      .select((eb) => ['status as key', eb.fn.countAll<string>().as('n')])
      .where('status', '!=', 'deleted')
      .groupBy('status')
      .execute(),
    db
      .selectFrom('role_requests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow(),
  ]);
  return {
    organisations: statusCounts(organisations),
    applications: statusCounts(applications),
    pendingRoleRequests: Number(pending.n),
  };
}
