import type { Kysely } from 'kysely';
import { createdBeforeForDue, type ExpiringItem, expiringKeyItems } from '../../shared/expiring-item.ts';
import type { Database } from '../../storage/index.ts';

/**
 * The active federation entity keys due for rotation by `horizon`: a key has no notAfter, so it is due at
 * created_at + `maxAgeDays` (the operator's `keys.maxAgeDays`). Retired and revoked keys no longer sign.
 */
export async function expiringFederationKeys(
  db: Kysely<Database>,
  horizon: Date,
  maxAgeDays: number,
): Promise<ExpiringItem[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'created_at'])
    .where('purpose', '=', 'federation')
    .where('status', '=', 'active')
    .where('created_at', '<=', createdBeforeForDue(horizon, maxAgeDays))
    .orderBy('created_at')
    .execute();
  return expiringKeyItems(rows, {
    kind: 'federation_key',
    purpose: 'federation',
    label: 'federation entity key',
    maxAgeDays,
  });
}
