import { createHash } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { pemToDer } from '../pem.ts';
import { formatRfc4514 } from '../rfc4514.ts';
import { x509 } from '../x509.ts';

/** What registration keeps of an organisation's CA certificate. */
export interface ParsedExternalCa {
  /** The certificate re-encoded as one canonical PEM block. */
  certificatePem: string;
  subject: string;
  /** base64url SHA-256 of the DER subjectPublicKeyInfo: the pin every later check compares. */
  spkiSha256: string;
  notBefore: Date;
  notAfter: Date;
  /** http(s) URIs of its CRL distribution points (RFC 5280 §4.2.1.13), in order. */
  crlUrls: string[];
  /** The OCSP responder its Authority Information Access names (RFC 5280 §4.2.2.1), if any. */
  ocspUrl: string | undefined;
}

const KEY_CERT_SIGN = x509.KeyUsageFlags.keyCertSign;

function bad(message: string): PkiError {
  return new PkiError('invalid_ca_certificate', message, { status: 400 });
}

/** base64url SHA-256 of a DER subjectPublicKeyInfo. */
export function spkiSha256(spkiDer: ArrayBuffer | Uint8Array): string {
  return createHash('sha256')
    .update(spkiDer instanceof Uint8Array ? spkiDer : new Uint8Array(spkiDer))
    .digest('base64url');
}

function uris(names: readonly { type: string; value: string }[]): string[] {
  return names.filter((n) => n.type === 'url').map((n) => n.value);
}

/**
 * Reads an organisation's CA certificate and refuses what cannot act as one: RFC 5280 §4.2.1.9 (basicConstraints
 * cA TRUE) and §4.2.1.3 (keyUsage keyCertSign), within its validity at `now`.
 */
export function parseExternalCa(pem: string, now: Date): ParsedExternalCa {
  let der: Buffer;
  let cert: x509.X509Certificate;
  try {
    der = pemToDer(pem, 'CERTIFICATE');
    cert = new x509.X509Certificate(der);
  } catch {
    throw bad('certificate_pem must be one PEM CERTIFICATE block holding an X.509 certificate');
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  // RFC 5280 §4.2.1.9: only a certificate asserting cA may sign certificates.
  if (!basic?.ca) throw bad('the certificate is not a CA certificate (basicConstraints cA is not set)');
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  // RFC 5280 §4.2.1.3: keyCertSign must be set for a key that verifies certificate signatures.
  if (!usage || (usage.usages & KEY_CERT_SIGN) === 0) {
    throw bad('the CA certificate does not allow keyCertSign (RFC 5280 §4.2.1.3)');
  }
  if (now.getTime() > cert.notAfter.getTime()) throw bad('the CA certificate has expired');
  if (now.getTime() < cert.notBefore.getTime()) throw bad('the CA certificate is not yet valid');
  const crlUrls: string[] = [];
  for (const ext of cert.getExtensions(x509.CRLDistributionPointsExtension)) {
    for (const point of ext.distributionPoints) {
      for (const name of point.distributionPoint?.fullName ?? []) {
        if (name.uniformResourceIdentifier) crlUrls.push(name.uniformResourceIdentifier);
      }
    }
  }
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
  const ocspUrl = aia ? uris(aia.ocsp)[0] : undefined;
  return {
    certificatePem: cert.toString('pem').replace(/\r\n/g, '\n').trimEnd().concat('\n'),
    subject: formatRfc4514(cert.subjectName.toArrayBuffer()),
    spkiSha256: spkiSha256(cert.publicKey.rawData),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    crlUrls: crlUrls.filter((u) => /^https?:\/\//i.test(u)),
    ocspUrl,
  };
}
