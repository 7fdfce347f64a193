import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

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
