import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { AppError } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type AccountTable, type Database, keysetAfter } from '../../storage/index.ts';
import { ACCOUNT_LOCKOUT, lockSeconds } from './lockout.ts';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from './password.ts';
import { checkTotp, newTotpSecret, openTotpSecret, sealTotpSecret, totpUri } from './totp.ts';

/** An account operation's refusal (RFC 9457 problem on the admin API). */
export class AccountError extends AppError {}

export interface AccountView {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  status: 'active' | 'disabled';
  totp: boolean;
  password: boolean;
  upstream: { iss: string; sub: string } | null;
  locked_until: string | null;
  created_at: string;
}

const view = (a: AccountTable): AccountView => ({
  id: a.id,
  username: a.username,
  name: a.name,
  email: a.email,
  status: a.status,
  totp: a.totp_secret_enc !== null,
  password: a.password_hash !== null,
  upstream: a.upstream_iss && a.upstream_sub ? { iss: a.upstream_iss, sub: a.upstream_sub } : null,
  locked_until: a.locked_until,
  created_at: a.created_at,
});

const MAX_USERNAME = 254;

/** The one spelling a username is stored and compared in: NFC, case-folded, trimmed; no control characters. */
export function normaliseUsername(raw: string): string {
  const value = raw.normalize('NFC').trim().toLowerCase().normalize('NFC');
  if (value.length === 0 || [...value].length > MAX_USERNAME || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value)) {
    throw new AccountError(
      'invalid_username',
      400,
      `a username is 1 to ${MAX_USERNAME} printable characters`,
    );
  }
  return value;
}

export interface AccountFilter {
  status?: 'active' | 'disabled' | undefined;
  usernamePrefix?: string | undefined;
  emailPrefix?: string | undefined;
}

/** The sort key of an account page: username, ties (none: usernames are unique) by id. */
export const ACCOUNT_PAGE_KEY = ['username', 'id'] as const;

const likePattern = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type LoginOutcome =
  | { ok: true; accountId: string }
  | { ok: false; reason: 'unknown' | 'locked' | 'disabled' | 'password' | 'totp' };

/** The built-in account store (table `accounts`), bound to a database handle and the KEK. */
export function accountStore(db: Kysely<Database>, kek: string) {
  async function find(idOrUsername: string): Promise<AccountTable | undefined> {
    const byId = await db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', idOrUsername)
      .executeTakeFirst();
    if (byId) return byId;
    let username: string;
    try {
      username = normaliseUsername(idOrUsername);
    } catch {
      return undefined;
    }
    return db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async function require(idOrUsername: string): Promise<AccountTable> {
    const account = await find(idOrUsername);
    if (!account) throw new AccountError('not_found', 404, `no account ${idOrUsername}`);
    return account;
  }

  return {
    async add(
      input: { username: string; password?: string; name?: string; email?: string },
      now: Date,
    ): Promise<AccountView> {
      const username = normaliseUsername(input.username);
      if (await find(username)) throw new AccountError('conflict', 409, `username ${username} is taken`);
      const row: AccountTable = {
        id: `acct_${randomBytes(12).toString('base64url')}`,
        username,
        name: input.name ?? null,
        email: input.email ?? null,
        password_hash: input.password === undefined ? null : await hashPassword(input.password),
        totp_secret_enc: null,
        totp_last_step: null,
        upstream_iss: null,
        upstream_sub: null,
        status: 'active',
        failed_logins: 0,
        locked_until: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await db.insertInto('accounts').values(row).execute();
      return view(row);
    },

    async get(idOrUsername: string): Promise<AccountView> {
      return view(await require(idOrUsername));
    },

    async find(idOrUsername: string): Promise<AccountView | undefined> {
      const account = await find(idOrUsername);
      return account && view(account);
    },

    async list(): Promise<AccountView[]> {
      return (await db.selectFrom('accounts').selectAll().orderBy('username').execute()).map(view);
    },

    /**
     * One page of accounts in username order (usernames are unique and never change), keyset-paged by
     * (username, id); filtered by status and by the start of the username or of the e-mail address.
     */
    async listPage(filter: AccountFilter, page: PageRequest): Promise<Page<AccountView>> {
      let q = db.selectFrom('accounts').selectAll();
      if (filter.status) q = q.where('status', '=', filter.status);
      if (filter.usernamePrefix) {
        const prefix = filter.usernamePrefix.normalize('NFC').trim().toLowerCase().normalize('NFC');
        q = q.where(sql<boolean>`username LIKE ${likePattern(prefix)} ESCAPE '\\'`);
      }
      if (filter.emailPrefix) {
        const prefix = filter.emailPrefix.trim().toLowerCase();
        q = q.where(sql<boolean>`lower(email) LIKE ${likePattern(prefix)} ESCAPE '\\'`);
      }
      const after = page.after;
      if (after) q = q.where((eb) => keysetAfter(eb, ACCOUNT_PAGE_KEY, after));
      const rows = await q
        .orderBy('username')
        .orderBy('id')
        .limit(page.limit + 1)
        .execute();
      const paged = toPage(rows, page.limit, (a) => [a.username, a.id]);
      return { items: paged.items.map(view), next_cursor: paged.next_cursor };
    },

    async setStatus(idOrUsername: string, status: 'active' | 'disabled', now: Date): Promise<AccountView> {
      const account = await require(idOrUsername);
      await db
        .updateTable('accounts')
        .set({ status, failed_logins: 0, locked_until: null, updated_at: now.toISOString() })
        .where('id', '=', account.id)
        .execute();
      return { ...view(account), status, locked_until: null };
    },

    async setPassword(idOrUsername: string, password: string, now: Date): Promise<AccountView> {
      const account = await require(idOrUsername);
      const hash = await hashPassword(password);
      await db
        .updateTable('accounts')
        .set({ password_hash: hash, failed_logins: 0, locked_until: null, updated_at: now.toISOString() })
        .where('id', '=', account.id)
        .execute();
      return { ...view(account), password: true, locked_until: null };
    },

    /** Enrols TOTP: a fresh secret, sealed at rest; the secret and its otpauth URI are returned once. */
    async enableTotp(
      idOrUsername: string,
      issuer: string,
      now: Date,
    ): Promise<{ account: AccountView; secret: string; uri: string }> {
      const account = await require(idOrUsername);
      const secret = newTotpSecret();
      await db
        .updateTable('accounts')
        .set({
          totp_secret_enc: sealTotpSecret(secret, kek, account.id),
          totp_last_step: null,
          updated_at: now.toISOString(),
        })
        .where('id', '=', account.id)
        .execute();
      return {
        account: { ...view(account), totp: true },
        secret,
        uri: totpUri(secret, account.username, issuer),
      };
    },

    async disableTotp(idOrUsername: string, now: Date): Promise<AccountView> {
      const account = await require(idOrUsername);
      await db
        .updateTable('accounts')
        .set({ totp_secret_enc: null, totp_last_step: null, updated_at: now.toISOString() })
        .where('id', '=', account.id)
        .execute();
      return { ...view(account), totp: false };
    },

    async remove(idOrUsername: string): Promise<AccountView> {
      const account = await require(idOrUsername);
      await db.deleteFrom('accounts').where('id', '=', account.id).execute();
      return view(account);
    },

    /** The account standing for an upstream identity (iss, sub), created on its first login. */
    async upstreamAccount(
      iss: string,
      sub: string,
      claims: { name?: string; email?: string; preferred_username?: string },
      now: Date,
    ): Promise<AccountView> {
      const existing = await db
        .selectFrom('accounts')
        .selectAll()
        .where('upstream_iss', '=', iss)
        .where('upstream_sub', '=', sub)
        .executeTakeFirst();
      if (existing) return view(existing);
      const row: AccountTable = {
        id: `acct_${randomBytes(12).toString('base64url')}`,
        // Unique and never a login name of the built-in store: the upstream identity itself.
        username: `upstream:${randomBytes(9).toString('base64url')}`,
        name: claims.name ?? null,
        email: claims.email ?? null,
        password_hash: null,
        totp_secret_enc: null,
        totp_last_step: null,
        upstream_iss: iss,
        upstream_sub: sub,
        status: 'active',
        failed_logins: 0,
        locked_until: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await db.insertInto('accounts').values(row).execute();
      return view(row);
    },

    /**
     * Checks a login. Unknown usernames cost the same KDF work as known ones; a locked account is refused
     * before its password is checked; every failure counts towards the lockout (ACCOUNT_LOCKOUT).
     */
    async authenticate(
      input: { username: string; password: string; totp?: string },
      now: Date,
    ): Promise<LoginOutcome> {
      let username: string;
      try {
        username = normaliseUsername(input.username);
      } catch {
        await verifyAgainstDummy(input.password);
        return { ok: false, reason: 'unknown' };
      }
      const account = await db
        .selectFrom('accounts')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirst();
      if (!account?.password_hash) {
        await verifyAgainstDummy(input.password);
        return { ok: false, reason: 'unknown' };
      }
      if (account.locked_until && account.locked_until > now.toISOString()) {
        return { ok: false, reason: 'locked' };
      }
      const fail = async (reason: 'password' | 'totp'): Promise<LoginOutcome> => {
        // Counted in the database (atomic increment): concurrent guesses each count, in every process.
        await db
          .updateTable('accounts')
          .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
          .where('id', '=', account.id)
          .execute();
        const { failed_logins: failures } = await db
          .selectFrom('accounts')
          .select('failed_logins')
          .where('id', '=', account.id)
          .executeTakeFirstOrThrow();
        const lock = lockSeconds(ACCOUNT_LOCKOUT, failures);
        if (lock > 0) {
          await db
            .updateTable('accounts')
            .set({ locked_until: new Date(now.getTime() + lock * 1000).toISOString() })
            .where('id', '=', account.id)
            .execute();
        }
        return { ok: false, reason };
      };
      if (!(await verifyPassword(input.password, account.password_hash))) return fail('password');
      let step: number | null = account.totp_last_step;
      if (account.totp_secret_enc) {
        const secret = openTotpSecret(account.totp_secret_enc, kek, account.id);
        const accepted = checkTotp(secret, (input.totp ?? '').trim(), now, account.totp_last_step);
        if (accepted === undefined) return fail('totp');
        step = accepted;
      }
      // A disabled account is told apart only after its credentials are proven (no enumeration).
      if (account.status !== 'active') return { ok: false, reason: 'disabled' };
      const rehash = needsRehash(account.password_hash) ? await hashPassword(input.password) : undefined;
      await db
        .updateTable('accounts')
        .set({
          failed_logins: 0,
          locked_until: null,
          totp_last_step: step,
          ...(rehash && { password_hash: rehash }),
        })
        .where('id', '=', account.id)
        .execute();
      return { ok: true, accountId: account.id };
    },
  };
}

export type AccountStore = ReturnType<typeof accountStore>;
