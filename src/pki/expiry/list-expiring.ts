import type { Kysely } from 'kysely';
import type { ExpiringItem, ExpiringSource } from '../../shared/expiring-item.ts';
import {
  type CursorKey,
  decodeCursor,
  encodeCursor,
  type Page,
  type PageRequest,
} from '../../shared/page-cursor.ts';
import type { Database } from '../../storage/index.ts';
import {
  expiringCaCertificates,
  expiringPartnerCertificates,
  expiringPartnerCertificatesPage,
} from './expiring-certificates.ts';

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

/** (notAfter, id) in code-unit order: the order of the pages and of their cursors. */
function compareKeys(a: CursorKey, b: CursorKey): number {
  const [an, ai] = a as [string, string];
  const [bn, bi] = b as [string, string];
  if (an !== bn) return an < bn ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  return 0;
}
const keyOf = (item: ExpiringItem): CursorKey => [item.notAfter, item.id];

/**
 * One page of `listExpiring`, soonest first, keyset-paged by (not_after, id). The partner certificates, the only
 * source that grows with the directory, are read a page at a time (`expiringPartnerCertificatesPage`); the CA
 * certificates and the signing keys the other roles report are few and are merged in by key. A page never passes
 * the partner walk's position, so nothing is skipped when that walk stops early (its scan budget).
 */
export async function listExpiringPage(
  db: Kysely<Database>,
  now: Date,
  withinDays: number,
  keySources: readonly ExpiringSource[],
  page: PageRequest,
  kind?: ExpiringItem['kind'] | undefined,
): Promise<Page<ExpiringItem>> {
  const horizon = new Date(now.getTime() + withinDays * DAY_MS);
  const after = page.after;
  const partner =
    kind === undefined || kind === 'certificate'
      ? await expiringPartnerCertificatesPage(db, now, horizon, page)
      : { items: [], next_cursor: null };
  const boundary = partner.next_cursor === null ? undefined : decodeCursor(partner.next_cursor, 2);
  const few: ExpiringItem[] = [];
  for (const source of kind === 'certificate' ? [] : [expiringCaCertificates, ...keySources]) {
    for (const item of await source(db, now, horizon)) {
      if (kind !== undefined && item.kind !== kind) continue;
      const key = keyOf(item);
      if (after && compareKeys(key, after) <= 0) continue;
      if (boundary && compareKeys(key, boundary) > 0) continue;
      few.push(item);
    }
  }
  const merged = [...partner.items, ...few].sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  if (merged.length > page.limit) {
    const items = merged.slice(0, page.limit);
    return { items, next_cursor: encodeCursor(keyOf(items[items.length - 1] as ExpiringItem)) };
  }
  return { items: merged, next_cursor: boundary ? encodeCursor(boundary) : null };
}
