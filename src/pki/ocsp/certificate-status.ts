import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';
import { isRevocationReason, REVOCATION_REASONS } from '../revocation-reasons.ts';
import type { CertStatus } from './build-ocsp-response.ts';
import type { OcspAuthority } from './ocsp-authorities.ts';

/**
 * The status of `serialHex` among the certificates `ca` issued (RFC 6960 §2.2): partner certificates for an
 * issuing CA, issuing CA certificates for the root. A serial the CA never issued is unknown, never good.
 */
export async function certificateStatus(
  db: Kysely<Database>,
  ca: OcspAuthority,
  serialHex: string | undefined,
): Promise<CertStatus> {
  if (serialHex === undefined) return { kind: 'unknown' };
  if (ca.kind === 'root') {
    const sub = await db
      .selectFrom('certificate_authorities')
      .select(['id', 'status', 'status_changed_at', 'revocation_reason'])
      .where('serial', '=', serialHex)
      .where('kind', '!=', 'root')
      .executeTakeFirst();
    if (!sub) return { kind: 'unknown' };
    // An issuing CA revoked for compromise is revoked here too, as on the root's CRL (RFC 5280 §5.3.1).
    if (sub.status !== 'revoked') return { kind: 'good' };
    return revokedStatus(sub.status_changed_at, sub.revocation_reason);
  }
  const row = await db
    .selectFrom('certificates')
    .select(['status', 'revoked_at', 'revocation_reason'])
    .where('serial', '=', serialHex)
    .where('issuer_ca_id', '=', ca.id)
    .executeTakeFirst();
  if (!row) return { kind: 'unknown' };
  if (row.status !== 'revoked') return { kind: 'good' };
  return revokedStatus(row.revoked_at, row.revocation_reason);
}

function revokedStatus(revokedAt: string | null, reason: string | null): CertStatus {
  const code = reason && isRevocationReason(reason) ? REVOCATION_REASONS[reason] : 0;
  return {
    kind: 'revoked',
    revokedAt: new Date(revokedAt ?? 0),
    // As on the CRL (RFC 5280 §5.3.1), unspecified is said by leaving the reason out.
    reasonCode: code === 0 ? undefined : code,
  };
}
