import type { Kysely } from 'kysely';
import type { ExpiringItem, ExpiringSource } from '../../shared/expiring-item.ts';
import type { Database } from '../../storage/index.ts';
import { expiringCaCertificates, expiringPartnerCertificates } from './expiring-certificates.ts';

export const DAY_MS = 86_400_000;

/** An expiring item as operators see it (`GET /admin/v1/expiring`). */
export interface ExpiringView {
  kind: ExpiringItem['kind'];
  id: string;
  not_after: string;
  /** Whole days left (0 on the last day, and for a key past its maximum age). */
  days_left: number;
  org_id: string | null;
  client_id: string | null;
  label: string;
  details: Record<string, unknown>;
}

/** Whole days from `now` to `notAfter`, never negative. */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.max(0, Math.floor((new Date(notAfter).getTime() - now.getTime()) / DAY_MS));
}

/**
 * Everything ending within `withinDays` of `now`, soonest first: the PKI's partner and CA certificates and
 * whatever the other roles report through `keySources` (their signing keys).
 */
export async function listExpiring(
  db: Kysely<Database>,
  now: Date,
  withinDays: number,
  keySources: readonly ExpiringSource[] = [],
): Promise<ExpiringItem[]> {
  const horizon = new Date(now.getTime() + withinDays * DAY_MS);
  const sources: ExpiringSource[] = [expiringPartnerCertificates, expiringCaCertificates, ...keySources];
  const items: ExpiringItem[] = [];
  for (const source of sources) items.push(...(await source(db, now, horizon)));
  return items.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.id.localeCompare(b.id));
}

export function expiringView(item: ExpiringItem, now: Date): ExpiringView {
  return {
    kind: item.kind,
    id: item.id,
    not_after: item.notAfter,
    days_left: daysLeft(item.notAfter, now),
    org_id: item.orgId,
    client_id: item.clientId,
    label: item.label,
    details: item.details,
  };
}
