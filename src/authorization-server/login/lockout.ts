import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';

/**
 * Failed-login throttling (OWASP Authentication Cheat Sheet; NIST SP 800-63B §5.2.2): after a few free
 * attempts every further failure locks the account (or the address) for twice as long as the last one, up to
 * a ceiling; a success clears the count. The lock refuses without checking the password, with the same
 * generic message as a wrong password.
 */
export interface LockoutPolicy {
  freeAttempts: number;
  baseSeconds: number;
  maxSeconds: number;
}

export const ACCOUNT_LOCKOUT: LockoutPolicy = { freeAttempts: 5, baseSeconds: 30, maxSeconds: 900 };
// An address may be a shared NAT: more room, the same backoff.
export const ADDRESS_LOCKOUT: LockoutPolicy = { freeAttempts: 20, baseSeconds: 30, maxSeconds: 900 };

/** How long to lock after the `failures`-th consecutive failure (0 while attempts are still free). */
export function lockSeconds(policy: LockoutPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  const doublings = Math.min(failures - policy.freeAttempts, 20);
  return Math.min(policy.baseSeconds * 2 ** doublings, policy.maxSeconds);
}

interface AddressState {
  failures: number;
  lockedUntil: number;
  lastSeen: number;
}

/** Per-address counters, in memory (bounded; entries forgotten a while after their last failure). */
export class AddressThrottle {
  readonly #policy: LockoutPolicy;
  readonly #entries = new Map<string, AddressState>();
  readonly #maxEntries: number;

  constructor(policy: LockoutPolicy = ADDRESS_LOCKOUT, maxEntries = 10_000) {
    this.#policy = policy;
    this.#maxEntries = maxEntries;
  }

  locked(address: string, now: Date): boolean {
    const entry = this.#entries.get(address);
    return entry !== undefined && entry.lockedUntil > now.getTime();
  }

  fail(address: string, now: Date): void {
    const t = now.getTime();
    const entry = this.#entries.get(address) ?? { failures: 0, lockedUntil: 0, lastSeen: t };
    entry.failures += 1;
    entry.lastSeen = t;
    entry.lockedUntil = t + lockSeconds(this.#policy, entry.failures) * 1000;
    this.#entries.delete(address);
    this.#entries.set(address, entry);
    this.#prune(t);
  }

  succeed(address: string): void {
    this.#entries.delete(address);
  }

  #prune(t: number): void {
    const horizon = this.#policy.maxSeconds * 4 * 1000;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && t - entry.lastSeen < horizon) break;
      // Oldest first (insertion order follows the last failure): a flood forgets the stalest addresses.
      this.#entries.delete(key);
    }
  }
}

/**
 * The same per-address throttle in the database (issue 16): every node counts and honours the same failures,
 * so several nodes behind a balancer give an address no more attempts than one. The count is one atomic
 * upsert; rows are forgotten a while after their last failure.
 */
export class SharedAddressThrottle {
  readonly #db: Kysely<Database>;
  readonly #policy: LockoutPolicy;

  constructor(db: Kysely<Database>, policy: LockoutPolicy = ADDRESS_LOCKOUT) {
    this.#db = db;
    this.#policy = policy;
  }

  async locked(address: string, now: Date): Promise<boolean> {
    const row = await this.#db
      .selectFrom('login_address_throttle')
      .select('locked_until')
      .where('address', '=', address)
      .executeTakeFirst();
    return row !== undefined && row.locked_until > now.toISOString();
  }

  async fail(address: string, now: Date): Promise<void> {
    const at = now.toISOString();
    const row = await this.#db
      .insertInto('login_address_throttle')
      .values({ address, failures: 1, locked_until: at, last_seen: at })
      .onConflict((oc) =>
        oc.column('address').doUpdateSet((eb) => ({
          failures: eb('login_address_throttle.failures', '+', 1),
          last_seen: at,
        })),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    const failures = Number(row.failures);
    const until = new Date(now.getTime() + lockSeconds(this.#policy, failures) * 1000).toISOString();
    await this.#db
      .updateTable('login_address_throttle')
      .set({ locked_until: until })
      .where('address', '=', address)
      .where('locked_until', '<', until)
      .execute();
    const horizon = new Date(now.getTime() - this.#policy.maxSeconds * 4 * 1000).toISOString();
    await this.#db.deleteFrom('login_address_throttle').where('last_seen', '<', horizon).execute();
  }

  async succeed(address: string): Promise<void> {
    await this.#db.deleteFrom('login_address_throttle').where('address', '=', address).execute();
  }
}
