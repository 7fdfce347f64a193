import type { Kysely } from 'kysely';
import { accountStore } from '../authorization-server/index.ts';
import { listMemberships, type MembershipView } from '../directory/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Database } from '../storage/index.ts';
import { type OperatorRole, operatorRoleOf } from './operator-accounts.ts';
import {
  type ConsoleSession,
  type SessionPolicy,
  type SessionStore,
  sessionSecretOf,
  sessionStore,
} from './sessions.ts';

/** Who is behind a console request: the signed-in account, its operator role and its memberships. */
export interface ConsoleCaller {
  session: ConsoleSession;
  /** The cookie secret: only for CSRF checks and sign-out, never logged or returned. */
  secret: string;
  account: { id: string; username: string; name: string | null; email: string | null };
  operator: OperatorRole | undefined;
  memberships: MembershipView[];
}

export interface CallerResolver {
  /** The caller behind a request's Cookie header; undefined without a live session of an active account. */
  resolve(cookieHeader: string | undefined): Promise<ConsoleCaller | undefined>;
  sessions: SessionStore;
}

export function createCallerResolver(deps: {
  db: Kysely<Database>;
  kek: string;
  clock: Clock;
  policy?: SessionPolicy;
}): CallerResolver {
  const sessions = sessionStore(deps.db, deps.policy);
  const accounts = accountStore(deps.db, deps.kek);
  return {
    sessions,
    async resolve(cookieHeader) {
      const secret = sessionSecretOf(cookieHeader);
      if (!secret) return undefined;
      const session = await sessions.find(secret, deps.clock());
      if (!session) return undefined;
      const account = await accounts.find(session.accountId);
      if (account?.status !== 'active') return undefined;
      const [operator, memberships] = await Promise.all([
        operatorRoleOf(deps.db, account.id),
        listMemberships(deps.db, account.id),
      ]);
      return {
        session,
        secret,
        account: { id: account.id, username: account.username, name: account.name, email: account.email },
        operator,
        memberships,
      };
    },
  };
}

/** Unsafe methods need the CSRF header; a browser saying the request is cross-site is refused outright. */
export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
