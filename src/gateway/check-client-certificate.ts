import type { X509Certificate } from 'node:crypto';
import { checkExternalCertificate } from './check-external-certificate.ts';
import type { ExternalCaLiveness } from './external-ca-liveness.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { ClientLiveness, LivenessState } from './liveness.ts';

/** What step 1 knows of a client certificate before judging it (decision/describe-certificate.ts). */
export interface PresentedCertificate {
  /** RFC 8705 §3.1: base64url SHA-256 of the DER certificate. */
  x5tS256: string;
  /** The same, as bytes, for constant-time comparisons; made once per connection. */
  x5tS256Bytes: Buffer;
  /** Subject, RDNs joined with ", " (for logs only: never an authorization input). */
  subject: string;
  notBeforeMs: number;
  notAfterMs: number;
  /** Chains to the configured trust store (OpenSSL verified it in the handshake, or the core did). */
  chained: boolean;
  /** OpenSSL's verification error when not chained, e.g. CERT_HAS_EXPIRED. */
  verifyError: string | undefined;
  /** The application the platform issued a chained certificate to, once looked up (it never changes). */
  issuedTo: string | undefined;
  /** The certificate itself, for the checks against an organisation's registered CA (bring your own CA). */
  leaf?: X509Certificate;
}

export interface AcceptedCertificate extends PresentedCertificate {
  /** Set when the certificate was accepted as a registered self-signed certificate (RFC 8705 §2.2). */
  selfSignedOwner: ClientLiveness | undefined;
  /** Set when the certificate was accepted as issued by an organisation's registered CA. */
  externalCa?: ExternalCaLiveness;
}

function refuse(reason: (typeof GATEWAY_REASONS)[keyof typeof GATEWAY_REASONS], message: string) {
  return new GatewayError(reason, 403, message);
}

/**
 * Step 1: a client certificate is required, chained to the trust store or registered self-signed for an
 * active client, within its validity at `now` (checked per request: connections outlive certificates),
 * not revoked, and — when the platform issued it — on record with the application it was issued to.
 */
export function checkClientCertificate(
  cert: AcceptedCertificate | undefined,
  liveness: LivenessState,
  now: Date,
): AcceptedCertificate {
  if (!cert) throw refuse(GATEWAY_REASONS.clientCertificateRequired, 'a client certificate is required');
  const t = now.getTime();
  if (t > cert.notAfterMs || cert.verifyError === 'CERT_HAS_EXPIRED') {
    throw refuse(GATEWAY_REASONS.certificateExpired, 'the client certificate has expired');
  }
  if (t < cert.notBeforeMs || cert.verifyError === 'CERT_NOT_YET_VALID') {
    throw refuse(GATEWAY_REASONS.certificateNotYetValid, 'the client certificate is not yet valid');
  }
  let accepted = cert;
  if (!cert.chained) {
    // RFC 8705 §2.2: outside the PKI, the certificate is trusted only because a client registered it.
    const owner = liveness.selfSignedOwner(cert.x5tS256);
    // Otherwise it may come from an organisation's own registered CA (checked there: pin, CRL, revocation).
    const externalCa = owner === undefined ? checkExternalCertificate(cert, liveness, now) : undefined;
    if (externalCa !== undefined) {
      accepted = { ...cert, selfSignedOwner: undefined, externalCa };
    } else {
      if (owner?.status !== 'active' || liveness.orgStatus(owner.orgId) !== 'active') {
        throw refuse(GATEWAY_REASONS.certificateUntrusted, 'the client certificate is not trusted');
      }
      accepted = { ...cert, selfSignedOwner: owner };
    }
  }
  if (liveness.isCertificateRevoked(cert.x5tS256)) {
    throw refuse(GATEWAY_REASONS.certificateRevoked, 'the client certificate has been revoked');
  }
  if (cert.chained) {
    // Who a certificate was issued to never changes: looked up once per connection, once known.
    cert.issuedTo ??= liveness.issuedCertificateOwner(cert.x5tS256);
    // Chained to our CA but not in the directory's record: fail closed.
    if (cert.issuedTo === undefined || !liveness.client(cert.issuedTo)) {
      throw refuse(GATEWAY_REASONS.certificateUnknown, 'the client certificate is not on record');
    }
  }
  // A chained certificate's description is reused as is: nothing per request is allocated for it.
  return accepted;
}

/**
 * A platform-issued certificate is usable only while the application it was issued to, and that application's
 * organisation, are active: checked where no token names the client (public paths), and in step 4 when the
 * token's client presents its software's certificate.
 */
export function checkIssuedCertificateOwner(cert: AcceptedCertificate, liveness: LivenessState): void {
  if (cert.issuedTo === undefined) return;
  const owner = liveness.client(cert.issuedTo);
  if (owner?.status !== 'active' || liveness.orgStatus(owner.orgId) !== 'active') {
    throw refuse(
      GATEWAY_REASONS.certificateApplicationInactive,
      'the application the client certificate was issued to is not active',
    );
  }
}
