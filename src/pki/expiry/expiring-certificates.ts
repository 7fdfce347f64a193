import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import type { ExpiringItem } from '../../shared/expiring-item.ts';
import type { Database } from '../../storage/index.ts';

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
  const rows = await db
    .selectFrom('certificates')
    .select(['serial', 'client_id', 'org_id', 'subject', 'x5t_s256', 'not_after'])
    .where('status', '=', 'active')
    .where('not_after', '>', now.toISOString())
    .where('not_after', '<=', horizon.toISOString())
    .orderBy('not_after')
    .execute();
  const items: ExpiringItem[] = [];
  // In chunks: one query for the successors and one for the applications of each chunk, not two per row.
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
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
  }
  return items;
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
