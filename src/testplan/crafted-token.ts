import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';

/** The claims of a JWT access token (RFC 9068), read without verifying: the partner only looks. */
export function readClaims(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * An access token that expired an hour ago. A partner cannot make the platform issue one, so it is a copy
 * of a real token's claims and header, with `iat`/`nbf`/`exp` in the past, signed by a key made here: the
 * door must refuse it whether it looks at the expiry or the signature first.
 */
export async function craftExpiredToken(real: string): Promise<string> {
  const claims = readClaims(real) ?? {};
  let header: Record<string, unknown> = {};
  try {
    header = decodeProtectedHeader(real) as Record<string, unknown>;
  } catch {
    // an opaque token: a JWT of our own shape is still a credential the door must refuse
  }
  const { privateKey } = await generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 })
    .setProtectedHeader({
      alg: 'ES256',
      typ: typeof header.typ === 'string' ? header.typ : 'at+jwt',
      ...(typeof header.kid === 'string' ? { kid: header.kid } : {}),
    })
    .sign(privateKey);
}
