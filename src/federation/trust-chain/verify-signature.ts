import { type JSONWebKeySet, type JWK, errors as joseErrors } from 'jose';
import { StatementError } from '../entity-statement.ts';
import { type CachedKey, cachedKey, type VerificationMemo, verifyWithKey } from './signature-cache.ts';

/**
 * Verifies a compact JWS with the key of `jwks` whose kid is the header's kid (§3.2 steps 11-12, §7.3 step 7).
 * Header checks (typ, alg, kid present) are `decodeFederationJwt`'s; times are the caller's. Imported keys are
 * cached; with a `memo`, a (JWT, key) pair already verified is not computed again (the key is still selected and
 * checked against the header's alg on every call).
 */
export async function verifySignature(
  jwt: string,
  jwks: JSONWebKeySet | undefined,
  kid: string,
  memo?: VerificationMemo,
): Promise<void> {
  const keys = Array.isArray(jwks?.keys) ? jwks.keys.filter((k: JWK) => k.kid === kid) : [];
  if (keys.length === 0) throw new StatementError('unknown_kid', 'no key with the kid of the signature');
  // §3.1.1 demands unique kids; two keys under one kid leave the verifier guessing.
  if (keys.length > 1)
    throw new StatementError('unknown_kid', 'more than one key with the kid of the signature');
  let key: CachedKey;
  try {
    key = cachedKey(keys[0]!);
  } catch {
    throw new StatementError('unknown_kid', 'the key with the kid of the signature is not usable');
  }
  try {
    await verifyWithKey(jwt, key, memo);
  } catch (err) {
    if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      throw new StatementError('unknown_kid', 'the key with the kid of the signature does not fit its alg');
    }
    throw new StatementError('bad_signature', 'signature verification failed');
  }
}
