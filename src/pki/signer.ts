import type { KeyObject, webcrypto } from 'node:crypto';
import { PkiError } from './errors.ts';

export type Signer = {
  signingKey: webcrypto.CryptoKey;
  signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaPssParams;
};

// Hash matched to curve strength (RFC 5758 §3.2 pairs P-256/SHA-256, P-384/SHA-384, P-521/SHA-512).
const EC: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** Wraps a CA private key for @peculiar/x509: the WebCrypto key plus the signature algorithm to use. */
export function toSigner(privateKey: KeyObject): Signer {
  if (privateKey.type !== 'private')
    throw new PkiError('invalid_issuer_key', 'issuer key is not a private key');
  switch (privateKey.asymmetricKeyType) {
    case 'ec': {
      const ec = EC[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!ec) break;
      return {
        signingKey: privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: ec.namedCurve }, false, ['sign']),
        signingAlgorithm: { name: 'ECDSA', hash: ec.hash },
      };
    }
    case 'rsa':
      // RSASSA-PSS, SHA-256, salt = hash length (RFC 4055 §3.1), matching the PS256 key algorithm.
      return {
        signingKey: privateKey.toCryptoKey({ name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign']),
        signingAlgorithm: { name: 'RSA-PSS', saltLength: 32 },
      };
    case 'ed25519':
      return {
        signingKey: privateKey.toCryptoKey({ name: 'Ed25519' }, false, ['sign']),
        signingAlgorithm: { name: 'Ed25519' },
      };
  }
  throw new PkiError('invalid_issuer_key', 'issuer key type cannot sign certificates here');
}
