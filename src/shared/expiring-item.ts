import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** What the expiry monitor watches; each kind belongs to the role that owns it. */
export const EXPIRING_KINDS = [
  'certificate',
  'ca_certificate',
  'federation_key',
  'software_statement_key',
  'access_token_key',
] as const;
export type ExpiringKind = (typeof EXPIRING_KINDS)[number];

/** Something that stops being valid (a certificate's notAfter) or due (a signing key's maximum age). */
export interface ExpiringItem {
  kind: ExpiringKind;
  /** Serial (certificates), row id (CA certificates) or kid (keys). */
  id: string;
  /** ISO time. For a key: created_at + the configured maximum key age. */
  notAfter: string;
  orgId: string | null;
  clientId: string | null;
  /** Human name for operators and mail: the application's name, the CA's subject, the key's purpose. */
  label: string;
  /** Facts that go into the event (never key material). */
  details: Record<string, unknown>;
}

/**
 * A role's "my expiring items": everything ending at or before `horizon`. Certificate sources leave out what
 * has already expired; key sources include keys past their maximum age (still signing, overdue for rotation).
 */
export type ExpiringSource = (db: Kysely<Database>, now: Date, horizon: Date) => Promise<ExpiringItem[]>;

const DAY_MS = 86_400_000;

/** When a signing key created at `createdAt` reaches `maxAgeDays`. */
export function keyDueAt(createdAt: string, maxAgeDays: number): Date {
  return new Date(new Date(createdAt).getTime() + maxAgeDays * DAY_MS);
}

/** The newest creation time a key may have to be due by `horizon`. */
export function createdBeforeForDue(horizon: Date, maxAgeDays: number): string {
  return new Date(horizon.getTime() - maxAgeDays * DAY_MS).toISOString();
}

/** The expiring-item view of a role's signing keys of one purpose (rows: active keys due by the horizon). */
export function expiringKeyItems(
  rows: ReadonlyArray<{ kid: string; alg: string; created_at: string }>,
  key: { kind: ExpiringKind; purpose: string; label: string; maxAgeDays: number },
): ExpiringItem[] {
  return rows.map((r) => ({
    kind: key.kind,
    id: r.kid,
    notAfter: keyDueAt(r.created_at, key.maxAgeDays).toISOString(),
    orgId: null,
    clientId: null,
    label: key.label,
    details: { purpose: key.purpose, alg: r.alg, created_at: r.created_at, max_age_days: key.maxAgeDays },
  }));
}
