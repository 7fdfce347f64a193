import { createPrivateKey, type KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';
import { pemToDer } from './pem.ts';

const LABEL = 'ENCRYPTED PRIVATE KEY';

function assertKek(kek: string): void {
  if (typeof kek !== 'string' || kek.length === 0) {
    throw new PkiError('invalid_kek', 'key-encryption key must be a non-empty string');
  }
}

/**
 * Encrypted PKCS#8 (RFC 5958 §3, PBES2 with AES-256-CBC): Node's TLS loads it as is with
 * `{ key, passphrase }`, so the plaintext key never has to be written anywhere.
 */
export function encryptPrivateKey(key: KeyObject, kek: string): string {
  assertKek(kek);
  if (key.type !== 'private') throw new PkiError('invalid_key', 'only private keys are encrypted');
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: kek }) as string;
}

export function decryptPrivateKey(pem: string, kek: string): KeyObject {
  assertKek(kek);
  let der: Buffer;
  try {
    // Refuse a plaintext PKCS#8 block: OpenSSL would load it and silently ignore the passphrase.
    der = pemToDer(pem, LABEL);
  } catch {
    throw new PkiError('malformed_key', `stored key is not a single ${LABEL} PEM block`);
  }
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase: kek });
  } catch {
    // The OpenSSL error is dropped on purpose: callers log causes, and this one says nothing useful.
    throw new PkiError(
      'kek_mismatch',
      'private key could not be decrypted with the configured key-encryption key',
    );
  }
}
