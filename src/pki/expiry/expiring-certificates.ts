import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import type { ExpiringItem } from '../../shared/expiring-item.ts';
import { encodeCursor, type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter } from '../../storage/index.ts';

/**
 * Partner certificates that end after `now` and at or before `horizon`: active (not revoked), of an active
 * application of an active organisation, and not renewed — a certificate counts as renewed once the same
 * application holds another active certificate that ends later.
 */
export async function expiringPartnerCertificates(
  db: Kysely<Database>,
  now: Date,
  horizon: Date,
): Promise<ExpiringItem[]> {
  const rows = await expiringRows(db, now, horizon).orderBy('not_after').execute();
  const items: ExpiringItem[] = [];
  // In chunks: one query for the successors and one for the applications of each chunk, not two per row.
  for (let i = 0; i < rows.length; i += 500) items.push(...(await qualifying(db, rows.slice(i, i + 500))));
  return items;
}

function expiringRows(db: Kysely<Database>, now: Date, horizon: Date) {
  return db
    .selectFrom('certificates')
    .select(['serial', 'client_id', 'org_id', 'subject', 'x5t_s256', 'not_after'])
    .where('status', '=', 'active')
    .where('not_after', '>', now.toISOString())
    .where('not_after', '<=', horizon.toISOString());
}

type ExpiringRow = {
  serial: string;
  client_id: string;
  org_id: string;
  subject: string;
  x5t_s256: string;
  not_after: string;
};

/** The rows (in their order) that still need attention: not renewed, of an active app of an active org. */
async function qualifying(db: Kysely<Database>, chunk: readonly ExpiringRow[]): Promise<ExpiringItem[]> {
  if (chunk.length === 0) return [];
  const clientIds = [...new Set(chunk.map((r) => r.client_id))];
  const latest = new Map(
    (
      await db
        .selectFrom('certificates')
        .select((eb) => ['client_id', eb.fn.max('not_after').as('last_end')])
        .where('status', '=', 'active')
        .where('client_id', 'in', clientIds)
        .groupBy('client_id')
        .execute()
    ).map((r) => [r.client_id, String(r.last_end)]),
  );
  const apps = new Map(
    (await directoryStore(db).applicationsWithOrganisation(clientIds)).map((a) => [a.client_id, a]),
  );
  const items: ExpiringItem[] = [];
  for (const row of chunk) {
    if ((latest.get(row.client_id) ?? '') > row.not_after) continue;
    const app = apps.get(row.client_id);
    if (app?.status !== 'active' || app.org_status !== 'active') continue;
    items.push({
      kind: 'certificate',
      id: row.serial,
      notAfter: row.not_after,
      orgId: row.org_id,
      clientId: row.client_id,
      label: app.name,
      details: {
        serial: row.serial,
        x5t_s256: row.x5t_s256,
        subject: row.subject,
        application_name: app.name,
        organisation_name: app.org_name,
      },
    });
  }
  return items;
}

/** How many rows one page request may scan: a page can come back short, with a cursor to go on from. */
const PAGE_SCAN_ROWS = 5000;

/**
 * One page of `expiringPartnerCertificates`, soonest first, keyset-paged by (not_after, serial). Rows that do
 * not qualify (renewed, or of a suspended application) are skipped in chunks; a request scans at most
 * PAGE_SCAN_ROWS rows, so a page may hold fewer than `limit` items and still have a `next_cursor`.
 */
export async function expiringPartnerCertificatesPage(
  db: Kysely<Database>,
  now: Date,
  horizon: Date,
  page: PageRequest,
): Promise<Page<ExpiringItem>> {
  const chunkSize = Math.min(Math.max(page.limit + 1, 100), 1000);
  const found: ExpiringItem[] = [];
  let after = page.after;
  for (let scanned = 0; scanned < PAGE_SCAN_ROWS; ) {
    let q = expiringRows(db, now, horizon);
    const from = after;
    if (from) q = q.where((eb) => keysetAfter(eb, ['not_after', 'serial'], from));
    const rows = await q.orderBy('not_after').orderBy('serial').limit(chunkSize).execute();
    scanned += rows.length;
    for (const item of await qualifying(db, rows)) {
      found.push(item);
      if (found.length > page.limit) return toPage(found, page.limit, (i) => [i.notAfter, i.id]);
    }
    const last = rows[rows.length - 1];
    if (rows.length < chunkSize || !last) return { items: found, next_cursor: null };
    after = [last.not_after, last.serial];
  }
  // The scan budget is spent: this page ends at the last row read, qualifying or not.
  return { items: found, next_cursor: after ? encodeCursor(after) : null };
}

/** The platform's CA certificates (every root and issuing CA on record) ending after `now`, by `horizon`. */
export async function expiringCaCertificates(
  db: Kysely<Database>,
  now: Date,
  horizon: Date,
): Promise<ExpiringItem[]> {
  const rows = await db
    .selectFrom('certificate_authorities')
    .select(['id', 'kind', 'subject', 'serial', 'not_after'])
    .where('not_after', '>', now.toISOString())
    .where('not_after', '<=', horizon.toISOString())
    .orderBy('not_after')
    .execute();
  return rows.map((r) => ({
    kind: 'ca_certificate',
    id: r.id,
    notAfter: r.not_after,
    orgId: null,
    clientId: null,
    label: r.subject,
    details: { ca_kind: r.kind, subject: r.subject, serial: r.serial },
  }));
}
