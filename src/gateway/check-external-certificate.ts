import type { X509Certificate } from 'node:crypto';
import type { PresentedCertificate } from './check-client-certificate.ts';
import type { ExternalCaLiveness } from './external-ca-liveness.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { LivenessState } from './liveness.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

// Which CA certificate object signed a described certificate: the signature is verified once, not per request.
const issuerOf = new WeakMap<PresentedCertificate, X509Certificate>();

function refuse(reason: (typeof GATEWAY_REASONS)[keyof typeof GATEWAY_REASONS], message: string) {
  return new GatewayError(reason, 403, message);
}

function findIssuer(cert: PresentedCertificate, leaf: X509Certificate, cas: readonly ExternalCaLiveness[]) {
  const known = issuerOf.get(cert);
  if (known !== undefined) {
    const ca = cas.find((c) => c.cert === known);
    if (ca !== undefined) return ca;
  }
  const ca = cas.find((c) => leaf.checkIssued(c.cert) && leaf.verify(c.cert.publicKey));
  if (ca !== undefined) issuerOf.set(cert, ca.cert);
  return ca;
}

/**
 * Step 1 for a certificate outside the platform PKI that one of the organisations' registered CAs signed (bring
 * your own CA): undefined when none did. Refused (403) when the CA key no longer matches its pin, the CA is not
 * valid now, the leaf is a CA or not for clientAuth (RFC 5280 §4.2.1.12), the CA's organisation is not active,
 * its CRL state is stale (past nextUpdate + tolerance, or never fetched: fail closed), or the CRL lists the
 * serial. Which organisation may use it is step 4's: the token's client must belong to the CA's organisation.
 */
export function checkExternalCertificate(
  cert: PresentedCertificate,
  liveness: LivenessState,
  now: Date,
): ExternalCaLiveness | undefined {
  const leaf = cert.leaf;
  const cas = liveness.externalCas();
  if (leaf === undefined || cas.length === 0) return undefined;
  const ca = findIssuer(cert, leaf, cas);
  if (ca === undefined) return undefined;
  const t = now.getTime();
  if (!ca.pinMatches)
    throw refuse(GATEWAY_REASONS.issuerPinMismatch, 'the issuing CA key does not match its pin');
  if (t > ca.cert.validToDate.getTime() || t < ca.cert.validFromDate.getTime()) {
    throw refuse(GATEWAY_REASONS.certificateUntrusted, 'the issuing CA certificate is not valid now');
  }
  const eku = leaf.keyUsage;
  if (
    leaf.ca ||
    (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU))
  ) {
    throw refuse(
      GATEWAY_REASONS.certificateUntrusted,
      'the certificate is not for TLS client authentication',
    );
  }
  if (liveness.orgStatus(ca.orgId) !== 'active') {
    throw refuse(GATEWAY_REASONS.orgSuspended, "the issuing CA's organisation is not active");
  }
  // NaN (never fetched) fails this comparison's complement: stale.
  if (!(t <= ca.staleAfterMs)) {
    throw refuse(
      GATEWAY_REASONS.issuerRevocationStale,
      "the issuing CA's revocation information is not current",
    );
  }
  const serial = leaf.serialNumber.toUpperCase().replace(/^0+/, '') || '0';
  if (ca.revokedSerials.has(serial)) {
    throw refuse(GATEWAY_REASONS.certificateRevoked, 'the client certificate has been revoked');
  }
  return ca;
}
