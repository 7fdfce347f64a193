import type { Kysely } from 'kysely';
import {
  activeApplicationsAmong,
  activeApplicationsCreatedBy,
  type ReviewedApplication,
} from '../directory/index.ts';
import { type CursorKey, encodeCursor, type Page, type PageRequest } from '../shared/page-cursor.ts';
import { bytewiseKeyset, type Database } from '../storage/index.ts';

const DAY_MS = 86_400_000;

export interface InactiveClientView {
  client_id: string;
  application: string;
  org_id: string;
  organisation: string | null;
  environment: 'sandbox' | 'production';
  created_at: string;
  last_seen_at: string | null;
  last_allowed_at: string | null;
  days_without_traffic: number;
}

/** The sort key of an inactive-client page: since when it is silent (last seen, or created), then client_id. */
export const INACTIVE_CLIENT_PAGE_KEY_LENGTH = 2;

/** How many rows of each side one page request may read: a page can come back short, with a cursor. */
const PAGE_SCAN_ROWS = 5000;

type Keyed = { key: [string, string]; view: InactiveClientView };

const before = (a: readonly [string, string], b: readonly [string, string]) =>
  a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * Active applications without traffic through this platform's doors since `cutoff` (issue 15's access review,
 * paged for issue 16), longest silent first: ordered by (since, client_id), where `since` is when the client
 * was last seen, or its creation when it was never seen.
 *
 * The two sides live in two roles' tables — `client_activity` (platform) and `applications` (directory) — so
 * the page is a merge of two keyset walks in the same order, never a join or a sort of either table:
 * - seen clients: `client_activity` rows last seen at or before the cutoff, kept when the application is active;
 * - never-seen clients: active applications created at or before the cutoff, kept when they have no activity.
 * Each round reads a chunk of both from the cursor and emits what is certain (up to the nearer chunk end); a
 * request reads at most PAGE_SCAN_ROWS rows a side, so a page may be short and still carry a `next_cursor`.
 */
export async function listInactiveClientsPage(
  db: Kysely<Database>,
  now: Date,
  cutoff: Date,
  page: PageRequest,
): Promise<Page<InactiveClientView>> {
  const upTo = cutoff.toISOString();
  const chunk = Math.min(Math.max(page.limit + 1, 100), 1000);
  const found: Keyed[] = [];
  let after = page.after as CursorKey | undefined;
  // Both walks order client ids in code-unit order (`before` below), whatever PostgreSQL's collation.
  const seenKeyset = bytewiseKeyset(db, ['last_seen_at', 'client_id']);
  const days = (since: string) => Math.floor((now.getTime() - new Date(since).getTime()) / DAY_MS);

  for (let scanned = 0; scanned < PAGE_SCAN_ROWS; scanned += chunk) {
    const from = after;
    let seenQuery = db
      .selectFrom('client_activity')
      .select(['client_id', 'last_seen_at', 'last_allowed_at'])
      .where('last_seen_at', '<=', upTo);
    if (from) seenQuery = seenQuery.where(seenKeyset.after(from));
    const [seen, created] = await Promise.all([
      seenQuery.orderBy(seenKeyset.orderBy[0]).orderBy(seenKeyset.orderBy[1]).limit(chunk).execute(),
      activeApplicationsCreatedBy(db, upTo, from, chunk),
    ]);
    const [apps, activity] = await Promise.all([
      activeApplicationsAmong(
        db,
        seen.map((s) => s.client_id),
      ),
      created.length === 0
        ? []
        : db
            .selectFrom('client_activity')
            .select('client_id')
            .where(
              'client_id',
              'in',
              created.map((c) => c.client_id),
            )
            .execute(),
    ]);
    const hasActivity = new Set(activity.map((a) => a.client_id));

    // What both walks have covered: up to the nearer end of a full chunk (a short chunk ends its side).
    const ends: Array<[string, string]> = [];
    const lastSeen = seen[seen.length - 1];
    if (seen.length === chunk && lastSeen) ends.push([lastSeen.last_seen_at, lastSeen.client_id]);
    const lastCreated = created[created.length - 1];
    if (created.length === chunk && lastCreated) ends.push([lastCreated.created_at, lastCreated.client_id]);
    const frontier = ends.reduce<[string, string] | undefined>(
      (min, end) => (min === undefined || before(end, min) ? end : min),
      undefined,
    );
    const within = (key: [string, string]) => frontier === undefined || !before(frontier, key);

    const round: Keyed[] = [];
    for (const s of seen) {
      const app = apps.get(s.client_id);
      const key: [string, string] = [s.last_seen_at, s.client_id];
      if (!app || !within(key)) continue;
      round.push({ key, view: inactiveView(app, s.last_seen_at, s.last_allowed_at ?? null, days) });
    }
    for (const c of created) {
      const key: [string, string] = [c.created_at, c.client_id];
      if (hasActivity.has(c.client_id) || !within(key)) continue;
      round.push({ key, view: inactiveView(c, null, null, days) });
    }
    round.sort((a, b) => (before(a.key, b.key) ? -1 : before(b.key, a.key) ? 1 : 0));
    for (const item of round) {
      found.push(item);
      if (found.length > page.limit) {
        const items = found.slice(0, page.limit);
        const last = items[items.length - 1] as Keyed;
        return { items: items.map((i) => i.view), next_cursor: encodeCursor(last.key) };
      }
    }
    if (frontier === undefined) return { items: found.map((i) => i.view), next_cursor: null };
    after = frontier;
  }
  // The scan budget is spent: this page ends where both walks have been read to.
  return { items: found.map((i) => i.view), next_cursor: after ? encodeCursor(after) : null };
}

function inactiveView(
  app: ReviewedApplication,
  lastSeenAt: string | null,
  lastAllowedAt: string | null,
  days: (since: string) => number,
): InactiveClientView {
  return {
    client_id: app.client_id,
    application: app.application,
    org_id: app.org_id,
    organisation: app.organisation,
    environment: app.environment,
    created_at: app.created_at,
    last_seen_at: lastSeenAt,
    last_allowed_at: lastAllowedAt,
    days_without_traffic: days(lastSeenAt ?? app.created_at),
  };
}
