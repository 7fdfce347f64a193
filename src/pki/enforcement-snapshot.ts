import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';
import { externalCaStore } from './external-ca/external-cas.ts';

/** A certificate the platform issued that has not expired: whom it was issued to, and whether it is revoked. */
export interface CertificateEnforcementView {
  x5tS256: string;
  clientId: string;
  notAfter: string;
  revoked: boolean;
}

/** The unexpired issued certificates; an expired one is refused by its validity period alone. */
export async function pkiEnforcementSnapshot(
  db: Kysely<Database>,
  now: Date,
): Promise<CertificateEnforcementView[]> {
  const rows = await db
    .selectFrom('certificates')
    .select(['x5t_s256', 'client_id', 'not_after', 'status'])
    .where('not_after', '>', now.toISOString())
    .execute();
  return rows.map((r) => ({
    x5tS256: r.x5t_s256,
    clientId: r.client_id,
    notAfter: r.not_after,
    revoked: r.status === 'revoked',
  }));
}

/** A registered external CA as an enforcement point's snapshot holds it (the `external_ca.changed` payload's form). */
export interface ExternalCaEnforcementView {
  id: string;
  orgId: string;
  certificatePem: string;
  spkiSha256: string;
  revokedSerials: string[];
  staleAfter: string | null;
}

/** Every registered external CA with the revocation state of its last verified CRL. */
export async function externalCaEnforcementSnapshot(
  db: Kysely<Database>,
): Promise<ExternalCaEnforcementView[]> {
  const cas = await externalCaStore(db).all();
  return cas.map((ca) => ({
    id: ca.id,
    orgId: ca.org_id,
    certificatePem: ca.certificate_pem,
    spkiSha256: ca.spki_sha256,
    revokedSerials: ca.revoked_serials,
    staleAfter: ca.crl.stale_after,
  }));
}
