import { calculateJwkThumbprint, exportJWK } from 'jose';
import { encryptPrivateKey, generateKeyPair, type KeyAlgorithm } from '../pki/index.ts';
import type { Database } from '../storage/index.ts';

type Purpose = Database['signing_keys']['purpose'];

/** A new signing key, its private half encrypted under the KEK; kid is the RFC 7638 thumbprint. */
export async function createSigningKey(
  purpose: Purpose,
  alg: KeyAlgorithm,
  kek: string,
  now: Date,
): Promise<Database['signing_keys']> {
  const { privateKey, publicKey } = generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    purpose,
    alg,
    public_jwk: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }),
    private_key_pem: encryptPrivateKey(privateKey, kek),
    status: 'active',
    created_at: now.toISOString(),
  };
}
