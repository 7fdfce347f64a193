import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Tx } from '../storage/index.ts';
import { SEED_ROLES, SEED_ROUTES, SEED_SCOPES } from './catalog-seed.ts';
import { validateRoutePattern } from './route-pattern.ts';

export interface RoleView {
  name: string;
  description: string;
  scopes: string[];
}

export interface CatalogRouteView {
  id: string;
  method: string;
  path_pattern: string;
  scope: string;
  description: string;
  roles: string[];
}

/** Inserts the example catalog where it is missing; never overwrites an operator's edits. */
export async function seedCatalog(tx: Tx): Promise<void> {
  for (const scope of SEED_SCOPES) {
    await tx.db
      .insertInto('scopes')
      .values(scope)
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
  for (const role of SEED_ROLES) {
    await tx.db
      .insertInto('roles')
      .values({ name: role.name, description: role.description })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    for (const scope of role.scopes) {
      await tx.db
        .insertInto('role_scopes')
        .values({ role: role.name, scope })
        .onConflict((oc) => oc.columns(['role', 'scope']).doNothing())
        .execute();
    }
  }
  for (const route of SEED_ROUTES) {
    validateRoutePattern(route.method, route.pathPattern);
    await tx.db
      .insertInto('catalog_routes')
      .values({
        id: randomUUID(),
        method: route.method,
        path_pattern: route.pathPattern,
        scope: route.scope,
        description: route.description,
      })
      .onConflict((oc) => oc.columns(['method', 'path_pattern', 'scope']).doNothing())
      .execute();
  }
}

export async function listRoles(db: Kysely<Database>): Promise<RoleView[]> {
  const roles = await db.selectFrom('roles').selectAll().orderBy('name').execute();
  const links = await db.selectFrom('role_scopes').selectAll().orderBy('scope').execute();
  return roles.map((r) => ({
    name: r.name,
    description: r.description,
    scopes: links.filter((l) => l.role === r.name).map((l) => l.scope),
  }));
}

/** The partner-facing access catalog: which operation needs which scope, and which roles grant it. */
export async function listCatalog(db: Kysely<Database>): Promise<CatalogRouteView[]> {
  const routes = await db
    .selectFrom('catalog_routes')
    .selectAll()
    .orderBy('path_pattern')
    .orderBy('method')
    .execute();
  const links = await db.selectFrom('role_scopes').selectAll().orderBy('role').execute();
  return routes.map((r) => ({
    id: r.id,
    method: r.method,
    path_pattern: r.path_pattern,
    scope: r.scope,
    description: r.description,
    roles: links.filter((l) => l.scope === r.scope).map((l) => l.role),
  }));
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
