import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import type { Database, Tx } from '../../storage/index.ts';
import { epochSeconds } from './authority.ts';

/**
 * Trust Marks that are "issued and still valid" (§8.2.1, §8.5.1): not revoked, not expired, and issued to a
 * subordinate the platform still serves (active, of an active organisation).
 */
export function validTrustMarks(db: Kysely<Database> | Tx['db'], now: Date) {
  const nowSeconds = epochSeconds(now);
  return db
    .selectFrom('federation_trust_marks as t')
    .innerJoin('federation_subordinates as s', 's.entity_id', 't.sub')
    .where('t.status', '=', 'active')
    .where((eb) => eb.or([eb('t.exp', 'is', null), eb('t.exp', '>', nowSeconds)]))
    .where('s.status', '=', 'active')
    .where('s.org_id', 'in', directoryStore(db).activeOrganisationIds());
}
