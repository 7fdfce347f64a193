import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** What the authorization server recorded about a dynamic (RFC 7591) registration; no token hash. */
export interface DynamicRegistrationRecord {
  type: 'dynamic';
  client_id: string;
  org_id: string;
  software_id: string | null;
  ssa_jti: string | null;
  iat_id: string | null;
  status: 'active' | 'deleted';
  token_rotated_at: string;
  created_at: string;
  updated_at: string;
}

/** What the authorization server recorded about a federation registration (OpenID Federation 1.0 §12). */
export interface FederationRegistrationRecord {
  type: 'federation';
  client_id: string;
  org_id: string;
  kind: 'explicit' | 'automatic';
  trust_anchor: string;
  authority_hint: string;
  via_subordinate: string;
  trust_mark_types: string[];
  expires_at: string;
  resolved_at: string;
  status: 'active' | 'ended';
  ended_reason: string | null;
  created_at: string;
  updated_at: string;
}

export type RegistrationRecord = DynamicRegistrationRecord | FederationRegistrationRecord;

function parseTypes(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The registrations the authorization server holds (the operator console's registrations view, issue 15),
 * newest first, at most `limit` of each type. Read only; the registration access token's hash never leaves.
 */
export async function listRegistrationRecords(
  db: Kysely<Database>,
  filter: { type?: 'dynamic' | 'federation' | undefined; clientId?: string | undefined; limit?: number } = {},
): Promise<RegistrationRecord[]> {
  const limit = filter.limit ?? 500;
  const out: RegistrationRecord[] = [];
  if (filter.type !== 'federation') {
    let q = db
      .selectFrom('dynamic_registrations')
      .select([
        'client_id',
        'org_id',
        'software_id',
        'ssa_jti',
        'iat_id',
        'status',
        'token_rotated_at',
        'created_at',
        'updated_at',
      ])
      .orderBy('created_at', 'desc')
      .limit(limit);
    if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
    for (const row of await q.execute()) out.push({ type: 'dynamic', ...row });
  }
  if (filter.type !== 'dynamic') {
    let q = db.selectFrom('federation_registrations').selectAll().orderBy('created_at', 'desc').limit(limit);
    if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
    for (const row of await q.execute()) {
      out.push({ type: 'federation', ...row, trust_mark_types: parseTypes(row.trust_mark_types) });
    }
  }
  return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
}
