import { createHash } from 'node:crypto';

export interface Account {
  id: string;
  name: string;
  currency: string;
  /** Minor units (cents), so the sample never does floating-point money. */
  balance_minor: number;
}

export interface Payment {
  id: string;
  from_account: string;
  amount: string;
  currency: string;
  status: 'accepted';
  created_at: string;
}

function derivedId(prefix: string, orgId: string, n: number): string {
  return `${prefix}_${createHash('sha256').update(`${orgId}:${n}`).digest('base64url').slice(0, 16)}`;
}

const STARTER_ACCOUNTS = [
  { name: 'Current account', balance_minor: 125_000 },
  { name: 'Savings account', balance_minor: 2_500_000 },
] as const;

/**
 * In-memory, deterministic data: every organisation gets the same two starter accounts (ids derived from its
 * org id) the first time it is seen, so a test can learn another org's account id by calling as that org.
 */
export class SampleData {
  readonly #accounts = new Map<string, Account[]>();
  readonly #owners = new Map<string, string>();
  readonly #payments = new Map<string, Payment[]>();

  accountsOf(orgId: string): Account[] {
    let accounts = this.#accounts.get(orgId);
    if (!accounts) {
      accounts = [];
      this.#accounts.set(orgId, accounts);
      for (const starter of STARTER_ACCOUNTS) this.#add(orgId, accounts, starter.name, starter.balance_minor);
    }
    return accounts;
  }

  /** Object-level authorisation: an account exists for a caller only if the caller's org owns it. */
  accountOf(orgId: string, accountId: string): Account | undefined {
    if (this.#owners.get(accountId) !== orgId) return undefined;
    return this.accountsOf(orgId).find((a) => a.id === accountId);
  }

  createAccount(orgId: string, name: string, currency: string): Account {
    const accounts = this.accountsOf(orgId);
    const account = this.#add(orgId, accounts, name, 0);
    account.currency = currency;
    return account;
  }

  createPayment(orgId: string, input: Omit<Payment, 'id' | 'status'>): Payment {
    let payments = this.#payments.get(orgId);
    if (!payments) {
      payments = [];
      this.#payments.set(orgId, payments);
    }
    const payment: Payment = { id: derivedId('pay', orgId, payments.length), status: 'accepted', ...input };
    payments.push(payment);
    return payment;
  }

  #add(orgId: string, accounts: Account[], name: string, balanceMinor: number): Account {
    const account: Account = {
      id: derivedId('acc', orgId, accounts.length),
      name,
      currency: 'EUR',
      balance_minor: balanceMinor,
    };
    accounts.push(account);
    this.#owners.set(account.id, orgId);
    return account;
  }
}
