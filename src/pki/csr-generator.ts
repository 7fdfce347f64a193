import type { KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';
import { derToPem } from './pem.ts';
import { toSigner } from './signer.ts';
import { buildName, NAME_OIDS } from './subject-name.ts';
import { x509 } from './x509.ts';

export type CreateCsrOptions = {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** CN of the request; the platform replaces the subject when it issues, so this is only a label. */
  commonName?: string;
};

/**
 * PKCS#10 certification request (RFC 2986) signed by the key it certifies, in PEM. The signature
 * algorithm follows the key like the CA's own (ECDSA with the curve's hash, RSASSA-PSS SHA-256, Ed25519),
 * so the request passes validateCsr.
 */
export async function createCsr(opts: CreateCsrOptions): Promise<string> {
  if (opts.publicKey.type !== 'public')
    throw new PkiError('invalid_public_key', 'publicKey is not a public key');
  const { signingKey, signingAlgorithm } = toSigner(opts.privateKey);
  // The public half is handed over as a CryptoKey of the same algorithm; its SPKI is what gets certified.
  const publicKey = opts.publicKey.toCryptoKey(signingKey.algorithm, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: buildName([
      {
        oid: NAME_OIDS.commonName,
        value: opts.commonName ?? 'accredit-partner',
        maxLength: 64,
        field: 'commonName',
      },
    ]),
    keys: { privateKey: signingKey, publicKey },
    signingAlgorithm,
  });
  return derToPem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData));
}
