import type { CertificateClient, CertificateState } from './certificate-state.ts';

/**
 * RFC 8705 §2.1.2: matched by the thumbprint of a certificate the platform issued to this very client, which
 * fixes issuer and exact subject at once; never a DN pattern (the client itself is active, or it would not
 * have loaded). A dynamically registered client authenticates with its software's certificate: one the
 * platform issued, active, to an application of the client's own organisation that is itself still active in
 * an active organisation (suspending or deleting the software stops its certificate working for every client
 * registered with it), whose exact subject is the registered tls_client_auth_subject_dn (string equality).
 */
export function certificateSubjectMatches(
  state: CertificateState | undefined,
  client: CertificateClient | undefined,
  property: string,
  expected: unknown,
): boolean {
  const issued = state?.issued;
  if (property !== 'tls_client_auth_subject_dn' || issued?.status !== 'active' || !client) return false;
  if (issued.client_id === client.clientId) return true;
  return (
    client.registration_type === 'dynamic' &&
    typeof expected === 'string' &&
    issued.subject === expected &&
    issued.org_id === client.org_id &&
    issued.app_org_id === client.org_id &&
    issued.app_status === 'active' &&
    issued.app_org_status === 'active'
  );
}
