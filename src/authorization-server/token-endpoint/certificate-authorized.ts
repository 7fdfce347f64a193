import type { CertificateState } from './certificate-state.ts';

/**
 * RFC 8705 §2.1: a tls_client_auth certificate is chained to the platform CA and one the platform issued, still
 * active; or issued by an organisation's registered CA and already checked against it (pin, validity, purpose,
 * fresh CRL, not revoked). Which organisation's clients it may authenticate is certificateSubjectMatches' rule.
 */
export function certificateAuthorized(state: CertificateState | undefined): boolean {
  if (state?.external !== undefined) return true;
  return state?.presented?.chainTrusted === true && state.issued?.status === 'active';
}
