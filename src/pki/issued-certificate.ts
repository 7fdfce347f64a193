import { derToPem } from './pem.ts';
import { formatRfc4514 } from './rfc4514.ts';
import { x509 } from './x509.ts';

export type IssuedCertificate = {
  certPem: string;
  certDer: Buffer;
  serialHex: string;
  /** RFC 4514 string of the subject as encoded in the certificate. */
  subject: string;
  /** RFC 4514 string of the issuer as encoded in the certificate. */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
};

/** Reads the facts callers store back from the DER just produced, never from the inputs. */
export function describeIssued(der: ArrayBuffer | Uint8Array): IssuedCertificate {
  const certDer = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der);
  const cert = new x509.X509Certificate(certDer);
  return {
    certPem: derToPem('CERTIFICATE', certDer),
    certDer,
    serialHex: cert.serialNumber.toLowerCase(),
    subject: formatRfc4514(cert.subjectName.toArrayBuffer()),
    issuer: formatRfc4514(cert.issuerName.toArrayBuffer()),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
