import type { Kysely } from 'kysely';
import { type Database, keysetAfter } from '../storage/index.ts';

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
  filter: {
    type?: 'dynamic' | 'federation' | undefined;
    clientId?: string | undefined;
    limit?: number;
    /** Issue 16: only rows after this (created_at, client_id) in the newest-first order (a page's cursor). */
    after?: ReadonlyArray<string | number> | undefined;
  } = {},
): Promise<RegistrationRecord[]> {
  const limit = filter.limit ?? 500;
  const after = filter.after;
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
      .orderBy('client_id', 'desc')
      .limit(limit);
    if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
    if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'client_id'], after, true));
    for (const row of await q.execute()) out.push({ type: 'dynamic', ...row });
  }
  if (filter.type !== 'dynamic') {
    let q = db
      .selectFrom('federation_registrations')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('client_id', 'desc')
      .limit(limit);
    if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
    if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'client_id'], after, true));
    for (const row of await q.execute()) {
      out.push({ type: 'federation', ...row, trust_mark_types: parseTypes(row.trust_mark_types) });
    }
  }
  // Newest first across both tables, ties by client_id (descending): the order a page's cursor continues.
  const key = (r: RegistrationRecord) => [r.created_at, r.client_id] as const;
  return out.sort((a, b) => {
    const [ac, ai] = key(a);
    const [bc, bi] = key(b);
    return ac !== bc ? (ac < bc ? 1 : -1) : ai < bi ? 1 : ai > bi ? -1 : 0;
  });
}

/** How many registrations the authorization server holds, of each type: two COUNTs (the operator overview). */
export async function countRegistrationRecords(
  db: Kysely<Database>,
): Promise<{ dynamic: number; federation: number }> {
  const [dynamic, federation] = await Promise.all([
    db
      .selectFrom('dynamic_registrations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('federation_registrations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { dynamic: Number(dynamic.n), federation: Number(federation.n) };
}
