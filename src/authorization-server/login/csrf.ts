import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The anti-CSRF token of an interaction page (OWASP CSRF Prevention Cheat Sheet, HMAC-based synchroniser
 * token): an HMAC of the interaction's uid and the form's purpose under a key derived from the KEK. It is
 * bound to the interaction, which oidc-provider in turn binds to its SameSite interaction cookie; a form
 * posted without it, or with another interaction's, is refused.
 */
export function csrfKey(kek: string): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, 'accredit', 'interaction csrf v1', 32));
}

export function csrfToken(key: Buffer, uid: string, purpose: string): string {
  return createHmac('sha256', key).update(`${purpose}\0${uid}`).digest('base64url');
}

export function checkCsrfToken(key: Buffer, uid: string, purpose: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 100) return false;
  const expected = Buffer.from(csrfToken(key, uid, purpose));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
