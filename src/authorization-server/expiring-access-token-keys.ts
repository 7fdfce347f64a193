import type { Kysely } from 'kysely';
import { createdBeforeForDue, type ExpiringItem, expiringKeyItems } from '../shared/expiring-item.ts';
import type { Database } from '../storage/index.ts';

/**
 * The authorization server's active access-token signing keys due for rotation by `horizon`: due at
 * created_at + `maxAgeDays` (the operator's `keys.maxAgeDays`), since a key has no notAfter of its own.
 */
export async function expiringAccessTokenKeys(
  db: Kysely<Database>,
  horizon: Date,
  maxAgeDays: number,
): Promise<ExpiringItem[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'created_at'])
    .where('purpose', '=', 'access_token')
    .where('status', '=', 'active')
    .where('created_at', '<=', createdBeforeForDue(horizon, maxAgeDays))
    .orderBy('created_at')
    .execute();
  return expiringKeyItems(rows, {
    kind: 'access_token_key',
    purpose: 'access_token',
    label: 'access token key',
    maxAgeDays,
  });
}
