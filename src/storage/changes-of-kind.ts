import type { Kysely } from 'kysely';
import type { Change, ChangeKind } from './change-feed.ts';
import type { Database } from './schema.ts';
import type { Tx } from './tx.ts';

export interface RecordedChange {
  entityId: string;
  payload: Record<string, unknown>;
  at: string;
}

/**
 * Every change of one kind published up to `uptoSeq`, oldest first: for state recorded only as its change-feed
 * entry (a revoked access token), read by the role that published it.
 */
export async function changesOfKind(
  db: Kysely<Database>,
  kind: ChangeKind,
  uptoSeq: number,
): Promise<RecordedChange[]> {
  const rows = await db
    .selectFrom('change_feed')
    .select(['entity_id', 'payload', 'at'])
    .where('kind', '=', kind)
    .where('seq', '<=', uptoSeq)
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({
    entityId: row.entity_id,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    at: row.at,
  }));
}

/** Up to `limit` changes after `afterSeq`, oldest first (read inside the caller's transaction when given one). */
export async function changesAfter(
  db: Kysely<Database> | Tx['db'],
  afterSeq: number,
  limit: number,
): Promise<Change[]> {
  const rows = await db
    .selectFrom('change_feed')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    at: row.at,
    kind: row.kind as ChangeKind,
    entityId: row.entity_id,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
  }));
}
