import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';
import { certificateApplications } from './applications.ts';
import { type CatalogRoutePayload, catalogRoutesPayload, readCatalog } from './catalog-document.ts';
import { type RateLimitSubject, rateLimitSnapshot } from './rate-limits.ts';

/** What an enforcement point needs of one application to admit or refuse its callers. */
export interface ApplicationEnforcementView {
  clientId: string;
  orgId: string;
  status: string;
  authMethod: string;
  selfSignedX5t: string[];
  certificateApps: string[];
  /** sandbox | production (issue 15). */
  environment: string;
}

export interface DirectoryEnforcementSnapshot {
  organisations: Array<{ id: string; status: string }>;
  applications: ApplicationEnforcementView[];
  /** The access catalog: each operation's pattern, scope alternatives and policy. */
  routes: CatalogRoutePayload[];
  /** Rate limits set by operators (issue 16). */
  rateLimits: Array<{ kind: RateLimitSubject; id: string; policy: unknown }>;
}

function parseMetadata(metadataJson: string): Record<string, unknown> {
  try {
    const metadata: unknown = JSON.parse(metadataJson);
    return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Every organisation and application with its status, and the catalog routes, as the directory holds them now. */
export async function directoryEnforcementSnapshot(
  db: Kysely<Database>,
): Promise<DirectoryEnforcementSnapshot> {
  const [orgs, apps, catalog, pins, rateLimits] = await Promise.all([
    db.selectFrom('organisations').select(['id', 'status']).execute(),
    db
      .selectFrom('applications')
      .select([
        'client_id',
        'org_id',
        'status',
        'auth_method',
        'registration_type',
        'metadata',
        'environment',
      ])
      .execute(),
    readCatalog(db),
    // The self-signed certificates each live client holds (RFC 8705 §2.2), as registration pinned them.
    db.selectFrom('self_signed_pins').select(['client_id', 'x5t_s256']).orderBy('x5t_s256').execute(),
    rateLimitSnapshot(db),
  ]);
  const pinned = new Map<string, string[]>();
  for (const pin of pins) {
    const held = pinned.get(pin.client_id);
    if (held) held.push(pin.x5t_s256);
    else pinned.set(pin.client_id, [pin.x5t_s256]);
  }
  return {
    organisations: orgs.map((o) => ({ id: o.id, status: o.status })),
    applications: apps.map((app) => {
      return {
        clientId: app.client_id,
        orgId: app.org_id,
        status: app.status,
        authMethod: app.auth_method,
        selfSignedX5t: pinned.get(app.client_id) ?? [],
        certificateApps: certificateApplications(app.registration_type, parseMetadata(app.metadata)),
        environment: app.environment ?? 'production',
      };
    }),
    routes: catalogRoutesPayload(catalog),
    rateLimits,
  };
}
