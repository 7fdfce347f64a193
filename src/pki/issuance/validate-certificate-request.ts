import { AppError } from '../../shared/app-error.ts';
import { validateCsr } from '../csr.ts';

/** What issuance takes from a CSR: its key only; every name comes from the directory. */
export interface ValidatedRequest {
  /** DER SubjectPublicKeyInfo, as buildPartnerCertificate takes it. */
  publicKeySpki: Buffer;
  keyDescription: string;
}

/** Validator: the CSR is well formed, self-signed and of an accepted key; otherwise invalid_csr with every finding. */
export async function validateCertificateRequest(csrPem: string): Promise<ValidatedRequest> {
  const validation = await validateCsr(csrPem);
  if (!validation.ok || !validation.publicKeySpki) {
    const first = validation.findings[0];
    throw new AppError(
      'invalid_csr',
      400,
      `CSR rejected: ${first ? `${first.code}: ${first.message}` : 'invalid'}`,
      { errors: validation.findings },
    );
  }
  return { publicKeySpki: validation.publicKeySpki, keyDescription: validation.keyDescription ?? 'unknown' };
}
