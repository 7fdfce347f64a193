import { recordAuditEvent } from '../audit/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Tx } from '../storage/index.ts';
import {
  type AuthorityView,
  announce,
  ended,
  issuingRow,
  markEnded,
  unexpiredActive,
  viewOf,
} from './ca-records.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';

/**
 * Takes a retiring issuing CA out of every bundle and destroys its key. Refused while certificates it issued
 * are active and unexpired (they would stop working) unless forced.
 */
export async function retireIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  id: string,
  options: { force: boolean },
  meta: ActionMeta,
): Promise<AuthorityView> {
  const row = await issuingRow(tx, id);
  if (row.status === 'active') {
    throw new AppError(
      'ca_active',
      409,
      'the active issuing CA cannot be retired: rotate to a new one first',
    );
  }
  if (row.status !== 'retiring')
    throw new AppError('conflict', 409, `issuing CA ${id} is already ${row.status}`);
  const remaining = await unexpiredActive(tx.db, id, meta.now);
  if (remaining > 0 && !options.force) {
    throw new AppError(
      'ca_in_use',
      409,
      `issuing CA ${id} still has ${remaining} unexpired active certificate(s); wait for them to expire or be renewed, revoke them, or force`,
      { unexpired_active_certificates: remaining },
    );
  }
  await markEnded(tx, row, 'retired', null, meta);
  await announce(tx, id, { action: 'retired', status: 'retired' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.retire_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: row.subject,
        serial: row.serial,
        forced: options.force,
        unexpired_active: remaining,
      },
    },
    meta.now,
  );
  return viewOf(tx.db, { ...row, ...ended(row, 'retired', null, meta) }, ca.settings.crlUrl, meta.now);
}

/**
 * Housekeeping: a retiring issuing CA whose last certificate has expired (revoked or not) has nothing left
 * to vouch for; it is retired. Returns the ids retired.
 */
export async function retireExpendedIssuing(tx: Tx, now: Date): Promise<string[]> {
  const retiring = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('kind', '=', 'issuing')
    .where('status', '=', 'retiring')
    .execute();
  const retired: string[] = [];
  const meta = { actor: 'system:housekeeping', now };
  for (const row of retiring) {
    const left = await tx.db
      .selectFrom('certificates')
      .select('serial')
      .where('issuer_ca_id', '=', row.id)
      .where('not_after', '>', now.toISOString())
      .limit(1)
      .executeTakeFirst();
    if (left) continue;
    await markEnded(tx, row, 'retired', null, meta);
    await announce(tx, row.id, { action: 'retired', status: 'retired' }, meta);
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'ca.retire_issuing',
        targetType: 'certificate_authority',
        targetId: row.id,
        details: {
          subject: row.subject,
          serial: row.serial,
          forced: false,
          unexpired_active: 0,
          automatic: true,
        },
      },
      now,
    );
    retired.push(row.id);
  }
  return retired;
}
