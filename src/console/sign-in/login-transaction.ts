import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/**
 * The sign-in transaction between `/console/auth/login` and `/console/auth/callback`: state, PKCE verifier,
 * nonce and where to go afterwards, sealed (JWE, dir + A256GCM) under a KEK-derived key in a short-lived
 * `__Host-` cookie, so any node can finish what another started and nothing is stored server-side.
 *
 * SameSite=Lax, not Strict: the callback is a top-level navigation at the end of a redirect chain that may have
 * passed through an upstream identity provider (another site); a Strict cookie would not come back.
 * The session cookie itself stays Strict.
 */
export const LOGIN_COOKIE = '__Host-accredit-login';
export const LOGIN_TTL_SECONDS = 300;

export interface LoginTransaction {
  state: string;
  verifier: string;
  nonce: string;
  returnTo: string;
}

const keyOf = (kek: string) =>
  new Uint8Array(hkdfSync('sha256', kek, 'accredit', 'console login transaction v1', 32));

export async function sealTransaction(kek: string, tx: LoginTransaction, now: Date): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new EncryptJWT({ ...tx })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOGIN_TTL_SECONDS)
    .encrypt(keyOf(kek));
}

/** The transaction in the cookie, or undefined when missing, tampered with or expired. */
export async function openTransaction(
  kek: string,
  sealed: string | undefined,
  now: Date,
): Promise<LoginTransaction | undefined> {
  if (!sealed || sealed.length > 4096) return undefined;
  try {
    const { payload } = await jwtDecrypt(sealed, keyOf(kek), {
      currentDate: now,
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    const { state, verifier, nonce, returnTo } = payload as Record<string, unknown>;
    if ([state, verifier, nonce, returnTo].some((v) => typeof v !== 'string')) return undefined;
    return { state, verifier, nonce, returnTo } as LoginTransaction;
  } catch {
    return undefined;
  }
}

export function loginCookie(sealed: string | undefined): string {
  if (sealed === undefined) return `${LOGIN_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
  return `${LOGIN_COOKIE}=${sealed}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${LOGIN_TTL_SECONDS}`;
}

/** The value of one named cookie in a Cookie header (undefined when absent or present twice). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 16384) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = part.slice(eq + 1).trim();
  }
  return found;
}

/**
 * A same-origin console path to return to after sign-in, else `/console/` (no open redirect): only an
 * absolute path under /console/, no scheme, no host, no backslash, no control characters, not the auth routes.
 */
export function safeReturnTo(value: unknown, origin: string): string {
  const fallback = '/console/';
  if (typeof value !== 'string' || value.length > 2048) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (!value.startsWith('/console/') || /[\\\u0000-\u001f\u007f]/.test(value) || value.startsWith('//'))
    return fallback;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return fallback;
  }
  if (url.origin !== new URL(origin).origin || !url.pathname.startsWith('/console/')) return fallback;
  if (url.pathname.startsWith('/console/auth/')) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
