import { X509Certificate } from 'node:crypto';
import {
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  randomSerialHex,
} from '../../../src/pki/index.ts';

const DAY = 86_400_000;

/** Real certificates from the platform's PKI builders: a root, an issuing CA under it, and leaves. */
export interface TestPki {
  root: CaMaterial;
  issuing: CaMaterial;
  leafPem: string;
  leaf: X509Certificate;
  otherLeafPem: string;
}

export async function leafFrom(issuer: CaMaterial, clientId: string, now = new Date()): Promise<string> {
  const { publicKey } = generateKeyPair('ES256');
  const cert = await buildPartnerCertificate({
    issuer,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId: 'org_test', orgName: 'Test Org' },
    serialHex: randomSerialHex(),
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 30 * DAY),
    crlUrl: 'https://pki.example/crl',
  });
  return cert.certPem;
}

let pki: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const now = new Date(Date.now() - 2 * DAY);
    const root = await createRootCa({ commonName: 'Proxy Test Root', now, validityDays: 3650 });
    const issuing = await createIssuingCa({
      commonName: 'Proxy Test Issuing',
      parent: root,
      now,
      validityDays: 365,
    });
    const leafPem = await leafFrom(issuing, 'cl_leaf');
    const otherLeafPem = await leafFrom(issuing, 'cl_other');
    return { root, issuing, leafPem, leaf: new X509Certificate(leafPem), otherLeafPem };
  })();
  return pki;
}

/** PEM as a proxy writes it: the certificate's own lines, LF-terminated. */
export const pemOf = (pem: string) => `${pem.trim()}\n`;

/** RFC 9440 §2.1 Byte Sequence. */
export const byteSequence = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;

/** NGINX $ssl_client_escaped_cert and Envoy's URL-encoded PEM: every reserved character escaped. */
export const urlEncodedPem = (...pems: string[]) => encodeURIComponent(pems.map(pemOf).join(''));

/** AWS ALB: URL-encoded PEM with `+`, `=` and `/` left as they are. */
export const albEncodedPem = (...pems: string[]) =>
  urlEncodedPem(...pems)
    .replaceAll('%2B', '+')
    .replaceAll('%3D', '=')
    .replaceAll('%2F', '/');

export const sha256Hex = (pem: string) =>
  new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
