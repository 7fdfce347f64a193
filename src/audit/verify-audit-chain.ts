import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';
import { GENESIS_HASH, hashAuditEntry } from './record-audit-event.ts';

export interface AuditChainResult {
  ok: boolean;
  entries: number;
  /** First sequence number whose hash or link does not match. */
  brokenAt?: number;
}

/** Recomputes every link of the audit chain; an edited, removed or reordered entry breaks it. */
export async function verifyAuditChain(db: Kysely<Database>): Promise<AuditChainResult> {
  let prev = GENESIS_HASH;
  let entries = 0;
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(1000)
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (row.prev_hash !== prev || hashAuditEntry(row) !== row.hash)
        return { ok: false, entries, brokenAt: seq };
      prev = row.hash;
      entries += 1;
      after = seq;
    }
    if (rows.length < 1000) return { ok: true, entries };
  }
}
