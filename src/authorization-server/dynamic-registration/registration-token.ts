import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** RFC 7592 §3: a bearer token for the client configuration endpoint; 256 bits from the CSPRNG. */
export function newRegistrationAccessToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashBearerToken(token) };
}

/**
 * Only the SHA-256 of a registration or initial access token is stored: a database leak does not hand out
 * management or registration rights.
 */
export function hashBearerToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** Constant-time comparison of a presented token with the stored hash. */
export function bearerTokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashBearerToken(token));
  const stored = Buffer.from(storedHash);
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`; undefined when absent (a different scheme counts as absent). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}
