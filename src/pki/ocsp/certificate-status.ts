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
      .select('id')
      .where('serial', '=', serialHex)
      .where('kind', '!=', 'root')
      .executeTakeFirst();
    return sub ? { kind: 'good' } : { kind: 'unknown' };
  }
  const row = await db
    .selectFrom('certificates')
    .select(['status', 'revoked_at', 'revocation_reason'])
    .where('serial', '=', serialHex)
    .where('issuer_ca_id', '=', ca.id)
    .executeTakeFirst();
  if (!row) return { kind: 'unknown' };
  if (row.status !== 'revoked') return { kind: 'good' };
  const reason = row.revocation_reason;
  const code = reason && isRevocationReason(reason) ? REVOCATION_REASONS[reason] : 0;
  return {
    kind: 'revoked',
    revokedAt: new Date(row.revoked_at ?? 0),
    // As on the CRL (RFC 5280 §5.3.1), unspecified is said by leaving the reason out.
    reasonCode: code === 0 ? undefined : code,
  };
}
