import type { CertificateState } from './certificate-state.ts';

/** RFC 8705 §2.1: a tls_client_auth certificate is chained to the platform CA and one the platform issued, still active. */
export function certificateAuthorized(state: CertificateState | undefined): boolean {
  return state?.presented?.chainTrusted === true && state.issued?.status === 'active';
}
