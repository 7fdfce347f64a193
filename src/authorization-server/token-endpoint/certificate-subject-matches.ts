import {
  certificateIdentityMatches,
  TLS_CLIENT_AUTH_PROPERTIES,
  type TlsClientAuthProperty,
} from '../../pki/index.ts';
import type { CertificateClient, CertificateState } from './certificate-state.ts';

/**
 * RFC 8705 §2.1.2 with the organisation's own CA: the certificate was issued by the very CA the client
 * registered (which its organisation registered, pinned by key), and carries exactly the registered subject DN
 * or subjectAltName. A certificate of another CA with the same names matches nothing.
 */
function externalCertificateMatches(
  state: CertificateState,
  client: CertificateClient,
  property: string,
  expected: unknown,
): boolean {
  const external = state.external;
  const cert = state.presented?.cert;
  if (!external || !cert || typeof expected !== 'string') return false;
  if (client.tls_client_auth_ca_id !== external.caId || client.org_id !== external.orgId) return false;
  if (!(TLS_CLIENT_AUTH_PROPERTIES as readonly string[]).includes(property)) return false;
  return certificateIdentityMatches(cert.raw, property as TlsClientAuthProperty, expected);
}

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
  if (state?.external !== undefined && client)
    return externalCertificateMatches(state, client, property, expected);
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
