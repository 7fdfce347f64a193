import type { CatalogRole } from '../../directory/index.ts';

/** The roles that give an application one alternative of an operation's required scopes. */
export interface RolesGranting {
  /** The alternative: every one of these scopes is needed. */
  scopes: string[];
  /** Roles that hold every scope of the alternative: one of them alone is enough. */
  roles: string[];
  /**
   * Per scope, the roles that hold it: several roles together can also make up the alternative, which a
   * partner can only see by scope. An array, not an object keyed by scope name, so no name is ever a key.
   */
  by_scope: { scope: string; roles: string[] }[];
}

/** Role names holding each scope, every list sorted. */
export function rolesByScope(roles: readonly CatalogRole[]): Map<string, string[]> {
  const holders = new Map<string, string[]>();
  for (const role of roles) {
    for (const scope of role.scopes) {
      const held = holders.get(scope);
      if (held) held.push(role.name);
      else holders.set(scope, [role.name]);
    }
  }
  for (const names of holders.values()) names.sort();
  return holders;
}

/** For each alternative: which roles grant it alone, and which grant each of its scopes. */
export function rolesGranting(
  alternatives: readonly (readonly string[])[],
  holders: ReadonlyMap<string, readonly string[]>,
): RolesGranting[] {
  return alternatives.map((alternative) => {
    const by_scope = alternative.map((scope) => ({ scope, roles: [...(holders.get(scope) ?? [])] }));
    const [first, ...rest] = by_scope;
    const roles = first ? first.roles.filter((name) => rest.every((s) => s.roles.includes(name))) : [];
    return { scopes: [...alternative], roles, by_scope };
  });
}
