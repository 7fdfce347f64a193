import type { Kysely } from 'kysely';
import { createdBeforeForDue, type ExpiringItem, keyDueAt } from '../../shared/expiring-item.ts';
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
  return rows.map((r) => ({
    kind: 'federation_key',
    id: r.kid,
    notAfter: keyDueAt(r.created_at, maxAgeDays).toISOString(),
    orgId: null,
    clientId: null,
    label: 'federation entity key',
    details: { purpose: 'federation', alg: r.alg, created_at: r.created_at, max_age_days: maxAgeDays },
  }));
}
