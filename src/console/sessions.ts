import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/**
 * Console sessions. The cookie carries a 256-bit random secret; the table keeps only its SHA-256, so a
 * database leak hands out no session. The CSRF token is derived from the secret (HMAC), never stored, and the
 * single-page app sends it back in `x-csrf-token` on every unsafe request.
 *
 * `__Host-` prefix: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2); HttpOnly; SameSite=Strict.
 */
export const SESSION_COOKIE = '__Host-accredit-session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionPolicy {
  /** Absolute lifetime. */
  maxAgeMs: number;
  /** Ends after this long without a request. */
  idleMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { maxAgeMs: 12 * 3_600_000, idleMs: 30 * 60_000 };

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const hash = (value: string) => createHash('sha256').update(value).digest('hex');

export const csrfTokenOf = (secret: string): string =>
  createHmac('sha256', secret).update('accredit console csrf').digest('base64url');

export interface ConsoleSession {
  idHash: string;
  accountId: string;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

/** The Set-Cookie value for a new session (or, with `secret` undefined, the one that clears it). */
export function sessionCookie(
  secret: string | undefined,
  maxAgeMs = DEFAULT_SESSION_POLICY.maxAgeMs,
): string {
  if (secret === undefined) return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
  return `${SESSION_COOKIE}=${secret}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`;
}

/** The session secret in a Cookie header, if well-formed (one cookie of that name; anything else is ignored). */
export function sessionSecretOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader || cookieHeader.length > 8192) return undefined;
  let found: string | undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    if (found !== undefined) return undefined; // two: refuse to choose
    found = part.slice(eq + 1).trim();
  }
  return found !== undefined && SECRET.test(found) ? found : undefined;
}

/** True when the header carries the CSRF token derived from this session's secret (constant time). */
export function csrfMatches(secret: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(csrfTokenOf(secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function sessionStore(db: Kysely<Database>, policy: SessionPolicy = DEFAULT_SESSION_POLICY) {
  return {
    /** Starts a session for a signed-in account; returns the cookie secret (shown once). */
    async create(accountId: string, now: Date): Promise<{ secret: string; session: ConsoleSession }> {
      const secret = randomBytes(32).toString('base64url');
      const at = now.toISOString();
      const expiresAt = new Date(now.getTime() + policy.maxAgeMs).toISOString();
      const idHash = hash(secret);
      await db
        .insertInto('console_sessions')
        .values({
          id_hash: idHash,
          account_id: accountId,
          csrf_hash: hash(csrfTokenOf(secret)),
          created_at: at,
          last_seen_at: at,
          idle_expires_at: new Date(now.getTime() + policy.idleMs).toISOString(),
          expires_at: expiresAt,
          revoked_at: null,
        })
        .execute();
      return {
        secret,
        session: { idHash, accountId, csrfToken: csrfTokenOf(secret), createdAt: at, expiresAt },
      };
    },

    /** The live session behind a cookie secret, its idle deadline moved forward; undefined when ended. */
    async find(secret: string, now: Date): Promise<ConsoleSession | undefined> {
      const at = now.toISOString();
      const row = await db
        .selectFrom('console_sessions')
        .selectAll()
        .where('id_hash', '=', hash(secret))
        .executeTakeFirst();
      if (!row || row.revoked_at !== null || row.expires_at <= at || row.idle_expires_at <= at)
        return undefined;
      // Touch at most once a minute: a busy page does not write on every request.
      if (now.getTime() - Date.parse(row.last_seen_at) > 60_000) {
        await db
          .updateTable('console_sessions')
          .set({ last_seen_at: at, idle_expires_at: new Date(now.getTime() + policy.idleMs).toISOString() })
          .where('id_hash', '=', row.id_hash)
          .execute();
      }
      return {
        idHash: row.id_hash,
        accountId: row.account_id,
        csrfToken: csrfTokenOf(secret),
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      };
    },

    /** Sign-out: the session ends everywhere at once. */
    async revoke(secret: string, now: Date): Promise<void> {
      await db
        .updateTable('console_sessions')
        .set({ revoked_at: now.toISOString() })
        .where('id_hash', '=', hash(secret))
        .where('revoked_at', 'is', null)
        .execute();
    },

    /** Ends every session of an account (disabled account, removed membership, role change). */
    async revokeAccount(accountId: string, now: Date): Promise<number> {
      const result = await db
        .updateTable('console_sessions')
        .set({ revoked_at: now.toISOString() })
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Deletes sessions ended for more than a day (housekeeping). */
    async prune(now: Date): Promise<void> {
      const cutoff = new Date(now.getTime() - 86_400_000).toISOString();
      await db
        .deleteFrom('console_sessions')
        .where((eb) => eb.or([eb('expires_at', '<', cutoff), eb('idle_expires_at', '<', cutoff)]))
        .execute();
    },
  };
}

export type SessionStore = ReturnType<typeof sessionStore>;
