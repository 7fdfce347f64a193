import type { Kysely } from 'kysely';
import type { Database, Tx } from '../storage/index.ts';
import { applyCatalog } from './catalog-apply.ts';
import { readCatalog } from './catalog-document.ts';
import { SEED_RESOURCES, SEED_ROLES, SEED_ROUTES, SEED_SCOPES } from './catalog-seed.ts';

export interface RoleView {
  name: string;
  description: string;
  status: string;
  scopes: string[];
}

export interface CatalogRouteView {
  id: string;
  method: string;
  path_pattern: string;
  /** Alternatives: any one grants the operation; every scope of one is needed. */
  required_scopes: string[][];
  description: string;
  auth: string;
  status: string;
  /** Roles that grant at least one scope the operation requires. */
  roles: string[];
}

/** Adds the example catalog where it is missing (by name, by method + pattern); never overwrites an operator's edits. */
export async function seedCatalog(tx: Tx, now = new Date()): Promise<void> {
  const doc = await readCatalog(tx.db);
  const next = structuredClone(doc);
  const has = <T extends { name: string }>(list: T[], name: string) => list.some((e) => e.name === name);
  for (const r of SEED_RESOURCES) {
    if (!has(next.resources, r.name)) next.resources.push({ ...r, status: 'active' });
  }
  for (const s of SEED_SCOPES) {
    if (!has(next.scopes, s.name)) next.scopes.push({ ...s, version: null, status: 'active' });
  }
  for (const r of SEED_ROLES) {
    if (!has(next.roles, r.name)) next.roles.push({ ...r, scopes: [...r.scopes], status: 'active' });
  }
  for (const route of SEED_ROUTES) {
    if (next.operations.some((o) => o.method === route.method && o.path_pattern === route.pathPattern))
      continue;
    next.operations.push({
      id: route.id,
      method: route.method,
      path_pattern: route.pathPattern,
      resource: route.resource,
      operation_id: null,
      source: 'seed',
      description: route.description,
      required_scopes: [[route.scope]],
      auth: 'token',
      mtls: 'required',
      dpop: 'refused',
      owner_param: null,
      status: 'active',
    });
  }
  await applyCatalog(
    tx,
    next,
    { actor: 'system', now, source: 'seed', before: doc },
    { action: 'catalog.seed', targetType: 'catalog', targetId: 'active' },
  );
}

export async function listRoles(db: Kysely<Database> | Tx['db']): Promise<RoleView[]> {
  return (await readCatalog(db)).roles;
}

/** The access catalog: which operation needs which scopes, and which roles grant them. */
export async function listCatalog(db: Kysely<Database> | Tx['db']): Promise<CatalogRouteView[]> {
  const doc = await readCatalog(db);
  return doc.operations.map((o) => {
    const needed = new Set(o.required_scopes.flat());
    return {
      id: o.id,
      method: o.method,
      path_pattern: o.path_pattern,
      required_scopes: o.required_scopes,
      description: o.description,
      auth: o.auth,
      status: o.status,
      roles: doc.roles.filter((r) => r.scopes.some((s) => needed.has(s))).map((r) => r.name),
    };
  });
}

/** Scopes granted by a set of roles (a client gets only these). */
export async function scopesForRoles(
  db: Kysely<Database> | Tx['db'],
  roles: readonly string[],
): Promise<string[]> {
  if (roles.length === 0) return [];
  const rows = await db
    .selectFrom('role_scopes')
    .select('scope')
    .distinct()
    .where('role', 'in', [...roles])
    .orderBy('scope')
    .execute();
  return rows.map((r) => r.scope);
}
