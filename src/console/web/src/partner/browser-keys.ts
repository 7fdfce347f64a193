import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { x509 } from './x509.ts';

/**
 * Keys and CSRs made in the browser with WebCrypto: ECDSA P-256, the private key extractable only so the
 * partner can save it (PKCS#8 PEM or a passphrase-protected PKCS#12). Only the CSR is ever sent.
 */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function base64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block of one type in a text (a certificate followed by its CA chain), as DER. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Uint8Array<ArrayBuffer>[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => {
    const binary = atob((m[1] ?? '').replace(/\s+/g, ''));
    const bytes = new Uint8Array(new ArrayBuffer(binary.length));
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  });
}

/** PKCS#10 CSR (RFC 2986) signed with the key; the platform replaces the subject from the directory. */
export async function createCsrPem(keys: CryptoKeyPair, commonName: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', key));
}

type EncryptionAlgorithm = Parameters<
  pkijs.PKCS8ShroudedKeyBag['makeInternalValues']
>[0]['contentEncryptionAlgorithm'];

const PBES2_OPTIONS = {
  // pkijs makes the IV itself.
  contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as unknown as EncryptionAlgorithm,
  hmacHashAlgorithm: 'SHA-256',
  iterationCount: 100_000,
};

/**
 * PKCS#12 (RFC 7292) with the private key (shrouded, PBES2: PBKDF2-HMAC-SHA-256 + AES-256-CBC), the
 * certificate and its CA chain (encrypted the same way), and a SHA-256 MAC over it all. It opens with
 * `openssl pkcs12 -in f.p12 -passin pass:… -nodes`.
 */
export async function buildPkcs12(
  privateKey: CryptoKey,
  certificatesPem: string,
  passphrase: string,
  friendlyName = 'accredit-client',
): Promise<Uint8Array> {
  if (passphrase.length < 8) throw new Error('the passphrase needs at least 8 characters');
  const password = new TextEncoder().encode(passphrase).buffer as ArrayBuffer;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', privateKey);
  const keyInfo = pkijs.PrivateKeyInfo.fromBER(pkcs8);
  const ders = pemBlocks(certificatesPem);
  if (ders.length === 0) throw new Error('no certificate to put in the PKCS#12');
  const certs = ders.map((der) => pkijs.Certificate.fromBER(der));
  // localKeyId links the key to its certificate (the first one: the leaf).
  const localKeyId = new Uint8Array(
    await crypto.subtle.digest('SHA-256', ders[0] as Uint8Array<ArrayBuffer>),
  );
  const attributes = () => [
    new pkijs.Attribute({
      type: '1.2.840.113549.1.9.21', // localKeyId
      values: [new asn1js.OctetString({ valueHex: localKeyId })],
    }),
    new pkijs.Attribute({
      type: '1.2.840.113549.1.9.20', // friendlyName
      values: [new asn1js.BmpString({ value: friendlyName })],
    }),
  ];
  const keyBag = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: keyInfo });
  const pfx = new pkijs.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pkijs.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            {
              privacyMode: 0,
              value: new pkijs.SafeContents({
                safeBags: [
                  new pkijs.SafeBag({
                    bagId: '1.2.840.113549.1.12.10.1.2',
                    bagValue: keyBag,
                    bagAttributes: attributes(),
                  }),
                ],
              }),
            },
            {
              privacyMode: 1,
              value: new pkijs.SafeContents({
                safeBags: certs.map(
                  (cert, i) =>
                    new pkijs.SafeBag({
                      bagId: '1.2.840.113549.1.12.10.1.3',
                      bagValue: new pkijs.CertBag({ parsedValue: cert }),
                      ...(i === 0 ? { bagAttributes: attributes() } : {}),
                    }),
                ),
              }),
            },
          ],
        },
      }),
    },
  });
  await keyBag.makeInternalValues({ password, ...PBES2_OPTIONS });
  const safe = pfx.parsedValue?.authenticatedSafe;
  if (!safe) throw new Error('PKCS#12 assembly failed');
  await safe.makeInternalValues({ safeContents: [{}, { password, ...PBES2_OPTIONS }] });
  await pfx.makeInternalValues({
    password,
    iterations: 100_000,
    pbkdf2HashAlgorithm: { name: 'SHA-256' },
    hmacHashAlgorithm: 'SHA-256',
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}
