import type { Kysely } from 'kysely';
import { createdBeforeForDue, type ExpiringItem, expiringKeyItems } from '../shared/expiring-item.ts';
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
  return expiringKeyItems(rows, {
    kind: 'software_statement_key',
    purpose: 'software_statement',
    label: 'software statement key',
    maxAgeDays,
  });
}
