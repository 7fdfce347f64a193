import type { X509Certificate } from 'node:crypto';
import { errors } from 'oidc-provider';
import type { CertificateClient, CertificateState } from './certificate-state.ts';
import { issuedCertificateRefusal } from './issued-certificate-refusal.ts';

/**
 * RFC 8705 §3: the certificate a token is bound to. A client authenticating without its certificate
 * (private_key_jwt) still binds its token to the one it presents; a certificate the platform issued binds only
 * for its own, active application (invalid_grant otherwise).
 */
export function bindingCertificate(
  state: CertificateState | undefined,
  client: CertificateClient | undefined,
): X509Certificate | string | undefined {
  if (state?.presented && state.issued && client?.tokenEndpointAuthMethod === 'private_key_jwt') {
    const refusal = issuedCertificateRefusal(state.issued, client);
    if (refusal) throw new errors.CustomOIDCProviderError('invalid_grant', refusal);
  }
  // An organisation's own CA vouches for that organisation's clients only (tls_client_auth clients are held to
  // it, and to their registered CA, by certificateSubjectMatches: invalid_client).
  if (
    state?.presented &&
    state.external &&
    client?.tokenEndpointAuthMethod === 'private_key_jwt' &&
    state.external.orgId !== client.org_id
  ) {
    throw new errors.CustomOIDCProviderError(
      'invalid_grant',
      "the client certificate's CA is registered by another organisation",
    );
  }
  return state?.presented?.cert;
}
