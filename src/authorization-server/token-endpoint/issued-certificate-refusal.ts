import type { CertificateClient } from './certificate-state.ts';
import type { IssuedCertificateState } from './look-up-issued-certificate.ts';

/**
 * Why a platform-issued certificate may not bind a token for `client`, or undefined when it may: it must belong
 * to the client itself, or to the software a dynamic client was registered with (`certificate_apps`), in the
 * client's own organisation, with that application and organisation active (never across organisations).
 */
export function issuedCertificateRefusal(
  issued: IssuedCertificateState,
  client: CertificateClient,
): string | undefined {
  const own = issued.client_id === client.clientId;
  const software =
    Array.isArray(client.certificate_apps) && client.certificate_apps.includes(issued.client_id);
  if ((!own && !software) || issued.org_id !== client.org_id || issued.app_org_id !== client.org_id) {
    return 'the client certificate was issued to another application; present your own to bind the token';
  }
  if (issued.status !== 'active' || issued.app_status !== 'active' || issued.app_org_status !== 'active') {
    return 'the client certificate belongs to an application that is not active';
  }
  return undefined;
}
