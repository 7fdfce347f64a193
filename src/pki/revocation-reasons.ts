import { PkiError } from './errors.ts';

/**
 * RFC 5280 §5.3.1 CRLReason codes accepted here. certificateHold (6) and removeFromCRL (8) are left out on
 * purpose: revocation is final, a certificate never comes back off the CRL.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function isRevocationReason(s: unknown): s is RevocationReason {
  return typeof s === 'string' && Object.hasOwn(REVOCATION_REASONS, s);
}

export function parseRevocationReason(s: string): RevocationReason {
  if (isRevocationReason(s)) return s;
  throw new PkiError(
    'invalid_reason',
    `revocation reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`,
    { status: 400 },
  );
}
