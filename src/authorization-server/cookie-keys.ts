import { hkdfSync } from 'node:crypto';

/** Cookie signing keys derived from the KEK: the same in every process, never written anywhere. */
export function deriveCookieKeys(kek: string): string[] {
  const key = Buffer.from(hkdfSync('sha256', kek, 'accredit', 'oidc-provider cookie keys v1', 32));
  return [key.toString('base64url')];
}
