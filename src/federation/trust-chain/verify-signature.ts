import { compactVerify, createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';
import { FEDERATION_SIGNING_ALGORITHMS } from '../constants.ts';
import { StatementError } from '../entity-statement.ts';

/**
 * Verifies a compact JWS with the key of `jwks` whose kid is the header's kid (§3.2 steps 11-12, §7.3 step 7).
 * Header checks (typ, alg, kid present) are `decodeFederationJwt`'s; times are the caller's.
 */
export async function verifySignature(
  jwt: string,
  jwks: JSONWebKeySet | undefined,
  kid: string,
): Promise<void> {
  const keys = Array.isArray(jwks?.keys) ? jwks.keys.filter((k: JWK) => k.kid === kid) : [];
  if (keys.length === 0) throw new StatementError('unknown_kid', 'no key with the kid of the signature');
  // §3.1.1 demands unique kids; two keys under one kid leave the verifier guessing.
  if (keys.length > 1)
    throw new StatementError('unknown_kid', 'more than one key with the kid of the signature');
  let getKey: ReturnType<typeof createLocalJWKSet>;
  try {
    getKey = createLocalJWKSet({ keys });
  } catch {
    throw new StatementError('unknown_kid', 'the key with the kid of the signature is not usable');
  }
  try {
    await compactVerify(jwt, getKey, { algorithms: [...FEDERATION_SIGNING_ALGORITHMS] });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      throw new StatementError('unknown_kid', 'the key with the kid of the signature does not fit its alg');
    }
    throw new StatementError('bad_signature', 'signature verification failed');
  }
}
