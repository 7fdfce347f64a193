import type { Kysely } from 'kysely';
import type { ChangeKind } from './change-feed.ts';
import type { Database } from './schema.ts';

/** Has a change of this kind about this entity ever been published (e.g. a token's revocation, by jti)? */
export async function hasChange(db: Kysely<Database>, kind: ChangeKind, entityId: string): Promise<boolean> {
  const row = await db
    .selectFrom('change_feed')
    .select('seq')
    .where('kind', '=', kind)
    .where('entity_id', '=', entityId)
    .executeTakeFirst();
  return row !== undefined;
}
