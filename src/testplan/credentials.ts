import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import {
  buildPartnerCertificate,
  createCsr,
  createRootCa,
  generateKeyPair,
  randomSerialHex,
} from '../pki/index.ts';

const DAY = 86_400_000;

export interface Credential {
  certPem: string;
  keyPem: string;
}

/** RFC 8705 §3.1: base64url SHA-256 of the DER certificate, what a bound token's `cnf.x5t#S256` holds. */
export function thumbprintOf(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');
}

/** The serial as the admin API names certificates: lower-case hex without separators. */
export function serialOf(certPem: string): string {
  return new X509Certificate(certPem).serialNumber.toLowerCase();
}

/**
 * A client certificate no door should trust: issued to the same client id by a certificate authority made
 * a moment ago, so only the trust anchor differs from the real one.
 */
export async function untrustedCredential(clientId: string): Promise<Credential> {
  const now = new Date(Date.now() - DAY);
  const root = await createRootCa({ commonName: 'Accredit test plan untrusted CA', now, validityDays: 2 });
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const cert = await buildPartnerCertificate({
    issuer: root,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId: randomUUID(), orgName: 'Untrusted test plan' },
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + DAY + DAY),
    crlUrl: 'https://untrusted.invalid/crl',
  });
  return { certPem: cert.certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A fresh P-256 key and a PKCS#10 request for it (the platform names the certificate itself). */
export async function keyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const csrPem = await createCsr({ privateKey, publicKey, commonName: 'accredit-testplan' });
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, csrPem };
}
