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
