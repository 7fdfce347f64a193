import { createHash, X509Certificate } from 'node:crypto';
import type { ExternalCaView } from './external-cas.ts';
import { normaliseSerial } from './verify-external-crl.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** Why a certificate from a registered CA is refused; stable codes shared with the gateway. */
export const EXTERNAL_CERTIFICATE_REFUSALS = {
  pinMismatch: 'issuer_pin_mismatch',
  expired: 'certificate_expired',
  notYetValid: 'certificate_not_yet_valid',
  issuerExpired: 'issuer_expired',
  purpose: 'certificate_purpose_invalid',
  revocationStale: 'issuer_revocation_stale',
  /** An OCSP responder is configured for the CA and gave no current answer (fail closed). */
  revocationUnavailable: 'issuer_revocation_unavailable',
  revoked: 'certificate_revoked',
} as const;
export type ExternalCertificateRefusal =
  (typeof EXTERNAL_CERTIFICATE_REFUSALS)[keyof typeof EXTERNAL_CERTIFICATE_REFUSALS];

export interface ExternalCertificateVerdict {
  ca: ExternalCaView;
  /** Undefined when the certificate is good; otherwise the stable code and a client-safe message. */
  refusal: { code: ExternalCertificateRefusal; message: string } | undefined;
  serial: string;
}

type CaWithSerials = ExternalCaView & { revoked_serials: readonly string[] };

// Parsed CA certificates and their key pins, by PEM: registered CAs are few and change rarely.
const parsed = new Map<string, { cert: X509Certificate; pin: string }>();
function parsedCa(pem: string): { cert: X509Certificate; pin: string } {
  let hit = parsed.get(pem);
  if (hit === undefined) {
    const cert = new X509Certificate(pem);
    hit = { cert, pin: spkiPin(cert) };
    if (parsed.size >= 1024) parsed.delete(parsed.keys().next().value as string);
    parsed.set(pem, hit);
  }
  return hit;
}

function spkiPin(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
}

/**
 * Judges a client certificate against the registered external CAs: the one whose key signed it (its issuer
 * name names that CA and the signature verifies), undefined when none did. Then, RFC 5280 §6.1.3: the CA key
 * still matches the registered pin, both certificates are within their validity, the leaf is not a CA and
 * allows clientAuth when it restricts its purpose (RFC 5280 §4.2.1.12), the CA's CRL state is fresh (fail
 * closed when stale or never fetched) and does not list the serial.
 */
export function verifyExternalCertificate(
  leaf: X509Certificate,
  cas: readonly CaWithSerials[],
  now: Date,
): ExternalCertificateVerdict | undefined {
  for (const ca of cas) {
    const { cert: caCert, pin } = parsedCa(ca.certificate_pem);
    if (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey)) continue;
    const serial = normaliseSerial(leaf.serialNumber);
    const refuse = (code: ExternalCertificateRefusal, message: string): ExternalCertificateVerdict => ({
      ca,
      serial,
      refusal: { code, message },
    });
    const t = now.getTime();
    if (pin !== ca.spki_sha256) {
      return refuse(EXTERNAL_CERTIFICATE_REFUSALS.pinMismatch, 'the issuing CA key does not match its pin');
    }
    if (t > leaf.validToDate.getTime())
      return refuse(EXTERNAL_CERTIFICATE_REFUSALS.expired, 'the client certificate has expired');
    if (t < leaf.validFromDate.getTime()) {
      return refuse(EXTERNAL_CERTIFICATE_REFUSALS.notYetValid, 'the client certificate is not yet valid');
    }
    if (t > caCert.validToDate.getTime() || t < caCert.validFromDate.getTime()) {
      return refuse(
        EXTERNAL_CERTIFICATE_REFUSALS.issuerExpired,
        'the issuing CA certificate is not valid now',
      );
    }
    const eku = leaf.keyUsage;
    if (
      leaf.ca ||
      (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU))
    ) {
      return refuse(
        EXTERNAL_CERTIFICATE_REFUSALS.purpose,
        'the certificate is not for TLS client authentication',
      );
    }
    const staleAfter = ca.crl.stale_after;
    if (staleAfter === null || t > Date.parse(staleAfter)) {
      return refuse(
        EXTERNAL_CERTIFICATE_REFUSALS.revocationStale,
        "the issuing CA's revocation information is not current",
      );
    }
    if (ca.revoked_serials.includes(serial)) {
      return refuse(EXTERNAL_CERTIFICATE_REFUSALS.revoked, 'the client certificate has been revoked');
    }
    return { ca, serial, refusal: undefined };
  }
  return undefined;
}
