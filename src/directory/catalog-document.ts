import { type Kysely, sql } from 'kysely';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import type { RateLimitPolicy } from '../shared/rate-limit/index.ts';
import { type CatalogStatus, type Database, keysetAfter, type Tx } from '../storage/index.ts';

/**
 * The access catalog as one value: what `readCatalog` returns, what a draft stores, what an OpenAPI import
 * produces and what `applyCatalog` makes the active catalog. Every edit is a change of this value, validated
 * whole (catalog-findings.ts), compared with the active one (catalog-diff.ts) and written in one transaction.
 */
export interface CatalogResource {
  name: string;
  description: string;
  status: CatalogStatus;
}

export interface CatalogScope {
  name: string;
  description: string;
  /** The provider's version label (`v1` of `accounts:read:v1`), or null. */
  version: string | null;
  status: CatalogStatus;
}

export interface CatalogRole {
  name: string;
  description: string;
  status: CatalogStatus;
  /** Sorted. */
  scopes: string[];
}

export type OperationAuth = 'token' | 'public';
export type OperationMtls = 'required' | 'optional';
export type OperationDpop = 'refused' | 'accepted' | 'required';

export interface CatalogOperation {
  id: string;
  method: string;
  path_pattern: string;
  resource: string | null;
  /** OpenAPI `operationId`: the key a re-import matches on. */
  operation_id: string | null;
  /** `seed`, `manual` or `openapi:<name>`: a re-import adds, changes and removes only its own source. */
  source: string | null;
  description: string;
  /**
   * Alternatives: any one grants the operation; every scope of an alternative is needed (an OpenAPI
   * security requirement list). Empty only for a public operation. Each alternative is sorted.
   */
  required_scopes: string[][];
  /** `public`: no token; the gateway forwards without an identity. */
  auth: OperationAuth;
  /** `required`: a trusted client certificate on the connection; `optional`: only if the token is bound to one. */
  mtls: OperationMtls;
  /** `accepted`: DPoP-bound tokens (RFC 9449) may call it. */
  dpop: OperationDpop;
  /** A `{param}` of the pattern whose value must be the caller's organisation id (ownership guard). */
  owner_param: string | null;
  status: CatalogStatus;
  /**
   * The operation's own rate limit (issue 16): `client` / `organisation` rules replace the catalog-wide
   * default's of that kind for this operation, counted per operation. Absent: the default applies.
   */
  rate_limit?: RateLimitPolicy;
}

export interface CatalogDocument {
  resources: CatalogResource[];
  scopes: CatalogScope[];
  roles: CatalogRole[];
  operations: CatalogOperation[];
}

/** What a gateway enforces of one operation; the `catalog.changed` payload carries the whole table of these. */
export interface CatalogRoutePayload {
  method: string;
  pathPattern: string;
  /** Alternatives, as `CatalogOperation.required_scopes`. */
  scopes: string[][];
  auth: OperationAuth;
  mtls: OperationMtls;
  dpop: OperationDpop;
  ownerParam?: string;
  rateLimit?: RateLimitPolicy;
}

type Reader = Kysely<Database> | Tx['db'];

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Operations in a stable order: path pattern, then method. */
export function compareOperations(a: CatalogOperation, b: CatalogOperation): number {
  if (a.path_pattern !== b.path_pattern) return a.path_pattern < b.path_pattern ? -1 : 1;
  return a.method < b.method ? -1 : a.method > b.method ? 1 : 0;
}

/** Sorted, deduplicated alternatives, each sorted and deduplicated: two spellings of one requirement compare equal. */
export function normaliseAlternatives(alternatives: readonly (readonly string[])[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const alternative of alternatives) {
    const sorted = [...new Set(alternative)].sort();
    if (sorted.length > 0) seen.set(sorted.join(' '), sorted);
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** The active catalog, whole. */
export async function readCatalog(db: Reader): Promise<CatalogDocument> {
  const [resources, scopes, roles, roleScopes, operations, operationScopes] = await Promise.all([
    db.selectFrom('catalog_resources').select(['name', 'description', 'status']).orderBy('name').execute(),
    db.selectFrom('scopes').select(['name', 'description', 'version', 'status']).orderBy('name').execute(),
    db.selectFrom('roles').select(['name', 'description', 'status']).orderBy('name').execute(),
    db.selectFrom('role_scopes').select(['role', 'scope']).orderBy('scope').execute(),
    db.selectFrom('catalog_operations').selectAll().execute(),
    db
      .selectFrom('catalog_operation_scopes')
      .select(['operation_id', 'alternative', 'scope'])
      .orderBy('alternative')
      .orderBy('scope')
      .execute(),
  ]);
  const grants = new Map<string, string[]>();
  for (const link of roleScopes) {
    const held = grants.get(link.role);
    if (held) held.push(link.scope);
    else grants.set(link.role, [link.scope]);
  }
  const alternatives = new Map<string, Map<number, string[]>>();
  for (const link of operationScopes) {
    let byIndex = alternatives.get(link.operation_id);
    if (!byIndex) {
      byIndex = new Map();
      alternatives.set(link.operation_id, byIndex);
    }
    const held = byIndex.get(link.alternative);
    if (held) held.push(link.scope);
    else byIndex.set(link.alternative, [link.scope]);
  }
  return {
    resources: resources.map((r) => ({ ...r })).sort(byName),
    scopes: scopes.map((s) => ({ ...s })).sort(byName),
    roles: roles.map((r) => ({ ...r, scopes: grants.get(r.name) ?? [] })).sort(byName),
    operations: operations
      .map((o) => ({
        id: o.id,
        method: o.method,
        path_pattern: o.path_pattern,
        resource: o.resource,
        operation_id: o.operation_id,
        source: o.source,
        description: o.description,
        required_scopes: normaliseAlternatives([...(alternatives.get(o.id)?.values() ?? [])]),
        auth: o.auth,
        mtls: o.mtls,
        dpop: o.dpop,
        owner_param: o.owner_param,
        status: o.status,
        ...rateLimitOf(o.rate_limit),
      }))
      .sort(compareOperations),
  };
}

export interface CatalogEntryFilter {
  status?: CatalogStatus | undefined;
  namePrefix?: string | undefined;
}

/** The sort key of a page of scopes, roles or resources: the name (their unique key). */
export const CATALOG_ENTRY_PAGE_KEY = ['name'] as const;

const ENTRY_TABLES = { scopes: 'scopes', roles: 'roles', resources: 'catalog_resources' } as const;

/**
 * One page of the active catalog's scopes, roles or resources in name order, keyset-paged by name (the
 * primary key, so the page walks the table's own index); a role carries its scopes, as in `readCatalog`.
 */
export async function listCatalogEntriesPage(
  db: Reader,
  kind: 'scopes' | 'roles' | 'resources',
  filter: CatalogEntryFilter,
  page: PageRequest,
): Promise<Page<CatalogScope | CatalogRole | CatalogResource>> {
  const columns =
    kind === 'scopes' ? ['name', 'description', 'version', 'status'] : ['name', 'description', 'status'];
  // biome-ignore lint/suspicious/noExplicitAny: the three tables share name/description/status; checked by the view types.
  let q = (db as Kysely<any>).selectFrom(ENTRY_TABLES[kind]).select(columns);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.namePrefix) {
    // Case-insensitive on both engines (SQLite's LIKE folds ASCII case, PostgreSQL's does not).
    const key = filter.namePrefix.toLowerCase();
    const pattern = `${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(name) LIKE ${pattern} ESCAPE '\\'`);
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, CATALOG_ENTRY_PAGE_KEY, after));
  const rows = (await q
    .orderBy('name')
    .limit(page.limit + 1)
    .execute()) as Array<CatalogScope | CatalogResource>;
  const paged = toPage(rows, page.limit, (r) => [r.name]);
  if (kind !== 'roles' || paged.items.length === 0) return paged;
  const links = await db
    .selectFrom('role_scopes')
    .select(['role', 'scope'])
    .where(
      'role',
      'in',
      paged.items.map((r) => r.name),
    )
    .orderBy('scope')
    .execute();
  const scopesOf = new Map<string, string[]>();
  for (const link of links) {
    const held = scopesOf.get(link.role);
    if (held) held.push(link.scope);
    else scopesOf.set(link.role, [link.scope]);
  }
  return {
    items: paged.items.map((r) => ({ ...(r as CatalogResource), scopes: scopesOf.get(r.name) ?? [] })),
    next_cursor: paged.next_cursor,
  };
}

/** The route table gateways enforce, in a stable order (every operation, deprecated ones too). */
export function catalogRoutesPayload(document: CatalogDocument): CatalogRoutePayload[] {
  return document.operations.map((o) => ({
    method: o.method,
    pathPattern: o.path_pattern,
    scopes: o.required_scopes,
    auth: o.auth,
    mtls: o.mtls,
    dpop: o.dpop,
    ...(o.owner_param !== null ? { ownerParam: o.owner_param } : {}),
    ...(o.rate_limit !== undefined ? { rateLimit: o.rate_limit } : {}),
  }));
}

/** The stored JSON of an operation's rate limit, as the optional field (absent when none or unreadable). */
function rateLimitOf(json: string | null): { rate_limit?: RateLimitPolicy } {
  if (json === null) return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null ? { rate_limit: value as RateLimitPolicy } : {};
  } catch {
    return {};
  }
}
