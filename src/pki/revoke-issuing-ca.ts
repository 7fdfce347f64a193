import type { KeyObject } from 'node:crypto';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Tx } from '../storage/index.ts';
import {
  type AuthorityView,
  announce,
  ended,
  issuingRow,
  markEnded,
  rootSigner,
  viewOf,
} from './ca-records.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';
import { parseRevocationReason } from './revocation-reasons.ts';

/**
 * Revokes an issuing CA (compromise): every active certificate it issued is revoked on its last CRL, the CA
 * leaves every bundle, its key is destroyed, and the root's next CRL lists it (RFC 5280 §5.3.1 reason). The
 * active CA cannot be revoked: rotate first, so the platform can go on issuing.
 */
export async function revokeIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  id: string,
  reasonName: string,
  meta: ActionMeta,
  options: { rootKey?: KeyObject; rootCrlValidityHours?: number } = {},
): Promise<AuthorityView & { certificates_revoked: number; root_crl_number: number }> {
  const reason = parseRevocationReason(reasonName);
  // The root signs the CRL that revokes: check for its key before anything changes.
  const root = await rootSigner(ca, options.rootKey, 'revoking an issuing CA');
  const row = await issuingRow(tx, id);
  if (row.status === 'active') {
    throw new AppError(
      'ca_active',
      409,
      'the active issuing CA cannot be revoked: rotate to a new one first',
    );
  }
  if (row.status === 'revoked')
    throw new AppError('already_revoked', 409, `issuing CA ${id} is already revoked`);
  const revokedCertificates = await ca.revokeAllIssuedBy(
    tx,
    id,
    reason === 'keyCompromise' ? 'cACompromise' : reason,
    meta,
  );
  await markEnded(tx, row, 'revoked', reason, meta);
  const published = await ca.publishCrl(tx, meta.now, 'root', {
    rootKey: root.privateKey,
    ...(options.rootCrlValidityHours !== undefined ? { validityHours: options.rootCrlValidityHours } : {}),
  });
  await announce(tx, id, { action: 'revoked', status: 'revoked' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.revoke_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: row.subject,
        serial: row.serial,
        reason,
        certificates_revoked: revokedCertificates,
        root_crl_number: published.crlNumber,
      },
    },
    meta.now,
  );
  const view = await viewOf(
    tx.db,
    { ...row, ...ended(row, 'revoked', reason, meta) },
    ca.settings.crlUrl,
    meta.now,
  );
  return { ...view, certificates_revoked: revokedCertificates, root_crl_number: published.crlNumber };
}
