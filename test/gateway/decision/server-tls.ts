import { generateKeyPair, randomSerialHex } from '../../../src/pki/index.ts';

const DAY = 86_400_000;

/** A throwaway self-signed server certificate for 127.0.0.1 (the JWKS server's TLS). */
export async function serverTls(): Promise<{ cert: string; key: string }> {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const { x509 } = await import('../../../src/pki/x509.ts');
  const { webcrypto, KeyObject } = await import('node:crypto');
  const keys = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      publicKey.export({ type: 'spki', format: 'der' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    ),
  };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: 'CN=127.0.0.1',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  return {
    cert: cert.toString('pem'),
    key: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
