import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { x5tS256 } from '../../pki/index.ts';

/** The RP's keys from its resolved metadata, when published inline (`jwks`). */
export function inlineJwks(rp: Record<string, unknown>): JSONWebKeySet | undefined {
  const jwks = rp.jwks as { keys?: unknown } | undefined;
  return jwks && Array.isArray(jwks.keys) ? (jwks as JSONWebKeySet) : undefined;
}

/** Whether a JWS verifies with one of the keys of `jwks`, with one of `algorithms`. */
export async function signedWithOneOf(
  jwt: string,
  jwks: JSONWebKeySet,
  algorithms: readonly string[],
): Promise<boolean> {
  try {
    await compactVerify(jwt, createLocalJWKSet(jwks), { algorithms: [...algorithms] });
    return true;
  } catch {
    return false;
  }
}

/** §12.1.1.2 / RFC 8705 §2.2: the presented certificate is the `x5c` of a key in the RP's JWK Set. */
export function certificateInJwks(certificateX5t: string, jwks: JSONWebKeySet): boolean {
  return jwks.keys.some((key) => {
    const first = Array.isArray(key.x5c) ? key.x5c[0] : undefined;
    if (typeof first !== 'string') return false;
    try {
      return x5tS256(Buffer.from(first, 'base64')) === certificateX5t;
    } catch {
      return false;
    }
  });
}
