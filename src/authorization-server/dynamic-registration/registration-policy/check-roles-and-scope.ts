import { type Draft, isStringArray, metadataFinding, words } from './draft.ts';

/** Why a requested role is beyond the client's authorities, or undefined when it is within them. */
function roleBeyond(d: Draft, role: string): string | undefined {
  if (d.statement && !d.statement.roles.includes(role)) {
    return `${role} is not among the software statement’s roles`;
  }
  if (d.initialAccessToken && !d.initialAccessToken.roles.includes(role)) {
    return `${role} is not among the initial access token’s roles`;
  }
  if (d.statement && d.context.softwareRoles && !d.context.softwareRoles.includes(role)) {
    return `${role} is no longer a role of software ${d.statement.softwareId}`;
  }
  if (!d.context.approvedRoles.includes(role)) {
    return `${role} is ${d.statement ? 'no longer' : 'not'} approved for organisation ${d.context.orgId}`;
  }
  return undefined;
}

/**
 * Roles: the authority's the organisation is still approved for (the statement's the software still holds, the
 * initial access token's, or those of both), narrowed by requested roles and by a requested scope (a role stays when it grants a
 * requested scope); scopes: what those roles grant within the statement's scope, narrowed to the request's.
 * Never a role or scope beyond the authority.
 */
export function checkRolesAndScope(d: Draft): void {
  const { roles: requestedRoles, scope: requestedScope } = d.request;
  let roles = [...d.context.approvedRoles];
  if (requestedRoles !== undefined) {
    if (!isStringArray(requestedRoles)) {
      metadataFinding(d, 'roles', 'must be an array of role names', 'RFC 7591 §2');
    } else {
      for (const role of new Set(requestedRoles)) {
        const beyond = roleBeyond(d, role);
        if (beyond) metadataFinding(d, 'roles', beyond, 'RFC 7591 §3.1.1');
      }
      roles = roles.filter((r) => requestedRoles.includes(r));
    }
  }
  const scopesOf = (role: string) => d.context.roleScopes.get(role) ?? [];
  const boundScopes = new Set(
    d.statement?.scope !== undefined ? words(d.statement.scope) : d.context.approvedRoles.flatMap(scopesOf),
  );
  const grantable = (rs: readonly string[]) =>
    new Set(rs.flatMap(scopesOf).filter((s) => boundScopes.has(s)));
  let scopes = [...grantable(roles)];
  if (requestedScope !== undefined) {
    if (typeof requestedScope !== 'string') {
      metadataFinding(d, 'scope', 'must be a space-separated string', 'RFC 7591 §2');
    } else {
      const wanted = [...new Set(words(requestedScope))];
      const granted = grantable(roles);
      for (const scope of wanted) {
        if (!boundScopes.has(scope)) {
          metadataFinding(d, 'scope', `${scope} is not granted by ${d.authority}`, 'RFC 7591 §3.1.1');
        } else if (!granted.has(scope)) {
          metadataFinding(d, 'scope', `${scope} is not granted by the client’s roles`, 'RFC 7591 §2');
        }
      }
      roles = roles.filter((r) => scopesOf(r).some((s) => wanted.includes(s)));
      scopes = wanted.filter((s) => granted.has(s));
    }
  }
  if (roles.length === 0 || scopes.length === 0) {
    metadataFinding(d, 'scope', `no role and scope of ${d.authority} would be left`, 'RFC 7591 §2');
  }
  d.roles = roles.sort();
  d.scopes = scopes.sort();
}
