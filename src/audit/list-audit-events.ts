import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** One audit log entry as read back, its details parsed. */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: unknown;
  prev_hash: string;
  hash: string;
}

/** The audit log in order from after `after`, at most `limit` entries. */
export async function listAuditEvents(
  db: Kysely<Database>,
  page: { after: number; limit: number },
): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>', page.after)
    .orderBy('seq')
    .limit(page.limit)
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq), details: JSON.parse(r.details) as unknown }));
}

export interface AuditSearch {
  actor?: string | undefined;
  action?: string | undefined;
  target_type?: string | undefined;
  target_id?: string | undefined;
  /** ISO-8601: entries at or after. */
  since?: string | undefined;
  /** ISO-8601: entries before. */
  until?: string | undefined;
  /** Oldest first from after this seq (the default order). */
  after?: number | undefined;
  /** Newest first from before this seq (`order: 'desc'` without it starts at the newest). */
  before?: number | undefined;
  order?: 'asc' | 'desc' | undefined;
  limit: number;
}

/**
 * The audit log filtered by actor, action, target and time, paged by sequence number either way: oldest
 * first after `after`, or newest first before `before`. `next` is the cursor of the following page (the
 * last seq returned) when the page was full.
 */
export async function searchAuditEvents(
  db: Kysely<Database>,
  search: AuditSearch,
): Promise<{ items: AuditEntry[]; next: number | null }> {
  const desc = search.order === 'desc' || search.before !== undefined;
  let q = db.selectFrom('audit_log').selectAll();
  if (search.actor !== undefined) q = q.where('actor', '=', search.actor);
  if (search.action !== undefined) q = q.where('action', '=', search.action);
  if (search.target_type !== undefined) q = q.where('target_type', '=', search.target_type);
  if (search.target_id !== undefined) q = q.where('target_id', '=', search.target_id);
  if (search.since !== undefined) q = q.where('at', '>=', search.since);
  if (search.until !== undefined) q = q.where('at', '<', search.until);
  if (desc) {
    if (search.before !== undefined) q = q.where('seq', '<', search.before);
    q = q.orderBy('seq', 'desc');
  } else {
    q = q.where('seq', '>', search.after ?? 0).orderBy('seq');
  }
  const rows = await q.limit(search.limit).execute();
  const items = rows.map((r) => ({ ...r, seq: Number(r.seq), details: JSON.parse(r.details) as unknown }));
  return { items, next: items.length === search.limit ? (items.at(-1)?.seq ?? null) : null };
}
