import { createHash } from 'node:crypto';
import { type AuditLogTable, lockJournal, type Tx } from '../storage/index.ts';

export interface AuditEvent {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

export function hashAuditEntry(
  entry: Pick<
    AuditLogTable,
    'prev_hash' | 'at' | 'actor' | 'action' | 'target_type' | 'target_id' | 'details'
  >,
): string {
  // A JSON array fixes field order and escaping, so the hash input is unambiguous.
  const input = JSON.stringify([
    entry.prev_hash,
    entry.at,
    entry.actor,
    entry.action,
    entry.target_type,
    entry.target_id,
    entry.details,
  ]);
  return createHash('sha256').update(input).digest('hex');
}

/** Appends to the hash-chained audit log in the caller's transaction: the record exists exactly when the change does. */
export async function recordAuditEvent(tx: Tx, event: AuditEvent, now: Date): Promise<void> {
  await lockJournal(tx);
  const last = await tx.db
    .selectFrom('audit_log')
    .select('hash')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const row = {
    prev_hash: last?.hash ?? GENESIS_HASH,
    at: now.toISOString(),
    actor: event.actor,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    details: JSON.stringify(event.details ?? {}),
  };
  await tx.db
    .insertInto('audit_log')
    .values({ ...row, hash: hashAuditEntry(row) })
    .execute();
}
