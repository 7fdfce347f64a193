import type { Kysely } from 'kysely';
import { createdBeforeForDue, type ExpiringItem, keyDueAt } from '../shared/expiring-item.ts';
import type { Database } from '../storage/index.ts';

/**
 * The directory's active software-statement signing keys due for rotation by `horizon`: due at created_at +
 * `maxAgeDays` (the operator's `keys.maxAgeDays`), since a key has no notAfter of its own.
 */
export async function expiringSoftwareStatementKeys(
  db: Kysely<Database>,
  horizon: Date,
  maxAgeDays: number,
): Promise<ExpiringItem[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'created_at'])
    .where('purpose', '=', 'software_statement')
    .where('status', '=', 'active')
    .where('created_at', '<=', createdBeforeForDue(horizon, maxAgeDays))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    kind: 'software_statement_key',
    id: r.kid,
    notAfter: keyDueAt(r.created_at, maxAgeDays).toISOString(),
    orgId: null,
    clientId: null,
    label: 'software statement key',
    details: {
      purpose: 'software_statement',
      alg: r.alg,
      created_at: r.created_at,
      max_age_days: maxAgeDays,
    },
  }));
}
