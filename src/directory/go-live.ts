import type { Kysely } from 'kysely';
import type { Database, Tx } from '../storage/index.ts';

/**
 * The go-live gate (issue 15): when the organisation passed it (ISO-8601), or null while it works in the
 * sandbox only. Production credentials are issued to partner members only once this is set.
 */
export async function organisationLiveAt(
  db: Kysely<Database> | Tx['db'],
  orgId: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('organisations')
    .select('live_at')
    .where('id', '=', orgId)
    .executeTakeFirst();
  return row?.live_at ?? null;
}
