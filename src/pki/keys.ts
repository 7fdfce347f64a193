import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';

export const KEY_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'EdDSA'] as const;

/** Named after the JOSE algorithm the key serves: P-256, P-384, RSA 3072 (rsaEncryption SPKI), Ed25519. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };

export function generateKeyPair(alg: KeyAlgorithm): KeyPair {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'PS256':
      // Plain rsaEncryption keys, not id-RSASSA-PSS: TLS 1.3 signs with rsa_pss_rsae_* using them.
      return generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 0x10001 });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    default:
      throw new PkiError(
        'unsupported_key_algorithm',
        `key algorithm must be one of ${KEY_ALGORITHMS.join(', ')}, got ${String(alg)}`,
      );
  }
}
