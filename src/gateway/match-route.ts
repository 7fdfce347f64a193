import { normaliseRules, type RateLimitPolicy, rateLimitPolicyProblem } from '../shared/rate-limit/policy.ts';
/** `token`: an access token is required; `public`: none is read, the call is forwarded without an identity. */
export type RouteAuth = 'token' | 'public';
/** `required`: a trusted, live client certificate; `optional`: only when the token is bound to one. */
export type RouteMtls = 'required' | 'optional';
/**
 * `accepted`: DPoP-bound tokens (RFC 9449) with a proof may call it, besides what `mtls` admits; `required`:
 * only they may (every Bearer token is refused), the way to need no certificate yet a bound token.
 */
export type RouteDpop = 'refused' | 'accepted' | 'required';

/**
 * One operation of the access catalog as the platform's feed carries it. Repeated here, not imported from
 * the directory, so that a gateway process loads nothing of the platform (a test keeps the two in step).
 */
export interface CatalogRoutePolicy {
  method: string;
  /** Literal segments, `{param}` for exactly one non-empty segment, an optional final `**` for one or more. */
  pathPattern: string;
  /** Alternatives: any one grants the operation, every scope of that one is needed. Empty on a public route. */
  scopes: string[][];
  auth: RouteAuth;
  mtls: RouteMtls;
  dpop: RouteDpop;
  /** A `{param}` of the pattern whose raw value must be the caller's organisation id (ownership guard). */
  ownerParam?: string;
  /** The operation's own rate limit (issue 16); absent: the catalog-wide default applies. */
  rateLimit?: RateLimitPolicy;
}

/**
 * The catalog row of an older platform (and of existing configuration): one scope; several rows of one
 * method and pattern are alternatives. Its policy is the one every route had then: token, mTLS, no DPoP.
 */
export interface LegacyCatalogRoute {
  method: string;
  pathPattern: string;
  scope: string;
}

export type CatalogRoute = CatalogRoutePolicy | LegacyCatalogRoute;

export interface RouteMatch {
  method: string;
  pathPattern: string;
  /** Any one of these grants the operation; every scope of the one is needed. Empty on a public route. */
  alternatives: readonly (readonly string[])[];
  /**
   * The scopes when every alternative is a single scope (the common case): the scope check is then one set
   * lookup per scope, as before alternatives existed. Undefined when some alternative needs several.
   */
  singleScopes: readonly string[] | undefined;
  /** Every scope of every alternative, space-delimited, for a `scope` challenge attribute (RFC 6750 §3). */
  scopeText: string;
  auth: RouteAuth;
  mtls: RouteMtls;
  dpop: RouteDpop;
  /** The name of the owner parameter, for messages; undefined when the route has none. */
  ownerParam: string | undefined;
  /** Index, among the request's path segments, of the owner parameter's value; -1 when none. */
  ownerIndex: number;
  /** The operation's own rate limit; absent: the catalog-wide default applies. */
  rateLimit?: RateLimitPolicy;
}

interface Node {
  literals: Map<string, Node>;
  param: Node | undefined;
  rest: RouteMatch | undefined;
  end: RouteMatch | undefined;
}

const METHOD = /^[A-Z]+$/;
// As the directory's validator: no `*` inside a segment, globs exist only as a final `**`.
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=:@-]+$/;
const PARAM = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const AUTH: ReadonlySet<unknown> = new Set(['token', 'public']);
const MTLS: ReadonlySet<unknown> = new Set(['required', 'optional']);
const DPOP: ReadonlySet<unknown> = new Set(['refused', 'accepted', 'required']);

function newNode(): Node {
  return { literals: new Map(), param: undefined, rest: undefined, end: undefined };
}

function describe(route: unknown): string {
  const r = route as { method?: unknown; pathPattern?: unknown } | null;
  return typeof r?.method === 'string' && typeof r.pathPattern === 'string'
    ? `${r.method} ${r.pathPattern}`
    : JSON.stringify(route)?.slice(0, 80);
}

function invalidRoute(route: unknown, why: string): Error {
  return new Error(`routes: ${describe(route)}: ${why}`);
}

function scopeText(alternatives: readonly (readonly string[])[]): string {
  return [...new Set(alternatives.flat())].join(' ');
}

function withAlternatives(match: RouteMatch, alternatives: readonly (readonly string[])[]): RouteMatch {
  return {
    ...match,
    alternatives,
    singleScopes: alternatives.every((a) => a.length === 1)
      ? alternatives.map((a) => a[0] as string)
      : undefined,
    scopeText: scopeText(alternatives),
  };
}

function scopeList(route: unknown, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidRoute(route, 'an alternative must be a non-empty list of scopes');
  for (const scope of value) {
    // scope-token syntax, RFC 6749 §3.3: no spaces, quotes or backslashes.
    if (typeof scope !== 'string' || !SCOPE.test(scope))
      throw invalidRoute(route, `scope ${JSON.stringify(scope)} is not a scope token`);
  }
  return [...new Set(value as string[])].sort();
}

/**
 * Checks one row strictly (it may come from a feed of another version, or from configuration) and gives its
 * policy; the trie position is checked by `insert`. A row that cannot be read whole refuses the whole table.
 */
function readRoute(route: unknown): { policy: RouteMatch; segments: string[] } {
  if (typeof route !== 'object' || route === null) throw invalidRoute(route, 'a route must be an object');
  const r = route as Record<string, unknown>;
  if (typeof r.method !== 'string' || !METHOD.test(r.method))
    throw invalidRoute(route, 'method must be an upper-case HTTP method');
  if (typeof r.pathPattern !== 'string' || !r.pathPattern.startsWith('/'))
    throw invalidRoute(route, 'path pattern must start with /');
  const segments = r.pathPattern === '/' ? [] : r.pathPattern.slice(1).split('/');
  let alternatives: string[][];
  let auth: RouteAuth = 'token';
  let mtls: RouteMtls = 'required';
  let dpop: RouteDpop = 'refused';
  let ownerParam: string | undefined;
  let rateLimit: RateLimitPolicy | undefined;
  if (r.scopes === undefined && 'scope' in r) {
    alternatives = [scopeList(route, [r.scope])];
  } else {
    if ('scope' in r) throw invalidRoute(route, 'a route has either scope (legacy) or scopes, not both');
    if (!AUTH.has(r.auth)) throw invalidRoute(route, 'auth must be token or public');
    if (!MTLS.has(r.mtls)) throw invalidRoute(route, 'mtls must be required or optional');
    if (!DPOP.has(r.dpop)) throw invalidRoute(route, 'dpop must be refused, accepted or required');
    auth = r.auth as RouteAuth;
    mtls = r.mtls as RouteMtls;
    dpop = r.dpop as RouteDpop;
    if (!Array.isArray(r.scopes)) throw invalidRoute(route, 'scopes must be a list of alternatives');
    alternatives = r.scopes.map((alternative) => scopeList(route, alternative));
    // A token route without scopes would admit any token of any client: the directory never sends one.
    if (auth === 'token' && alternatives.length === 0)
      throw invalidRoute(route, 'a token route needs at least one scope alternative');
    if (auth === 'public') alternatives = [];
    // null, as absent: "no owner parameter" in either spelling of JSON.
    if (r.ownerParam !== undefined && r.ownerParam !== null) {
      if (typeof r.ownerParam !== 'string') throw invalidRoute(route, 'ownerParam must be a string');
      // Only a caller the token names has an organisation to compare with.
      if (auth !== 'token') throw invalidRoute(route, 'ownerParam needs auth token');
      ownerParam = r.ownerParam;
    }
    if (r.rateLimit !== undefined && r.rateLimit !== null) {
      const problem = rateLimitPolicyProblem(r.rateLimit, 'rateLimit');
      if (problem !== undefined) throw invalidRoute(route, problem);
      const given = r.rateLimit as RateLimitPolicy;
      rateLimit = {
        ...(given.client !== undefined ? { client: normaliseRules(given.client) } : {}),
        ...(given.organisation !== undefined ? { organisation: normaliseRules(given.organisation) } : {}),
      };
    }
  }
  let ownerIndex = -1;
  if (ownerParam !== undefined) {
    const named = segments.flatMap((s, i) => (s === `{${ownerParam}}` ? [i] : []));
    if (named.length !== 1)
      throw invalidRoute(route, `ownerParam "${ownerParam}" must name exactly one {param} of the pattern`);
    ownerIndex = named[0] as number;
  }
  const unique = new Map(alternatives.map((a) => [a.join(' '), a]));
  const policy = withAlternatives(
    {
      method: r.method,
      pathPattern: r.pathPattern,
      alternatives: [],
      singleScopes: undefined,
      scopeText: '',
      auth,
      mtls,
      dpop,
      ownerParam,
      ownerIndex,
      ...(rateLimit !== undefined ? { rateLimit } : {}),
    },
    [...unique.values()],
  );
  return { policy, segments };
}

/**
 * Rows of one method and pattern shape merge their alternatives (legacy rows are one scope each); their
 * policies must agree, since the gateway cannot tell which row a request meant.
 */
function merge(existing: RouteMatch | undefined, next: RouteMatch): RouteMatch {
  if (!existing) return next;
  if (
    existing.auth !== next.auth ||
    existing.mtls !== next.mtls ||
    existing.dpop !== next.dpop ||
    existing.ownerIndex !== next.ownerIndex ||
    JSON.stringify(existing.rateLimit) !== JSON.stringify(next.rateLimit)
  ) {
    throw invalidRoute(
      next,
      `conflicts with ${existing.method} ${existing.pathPattern}: the same operation with another policy`,
    );
  }
  const known = new Set(existing.alternatives.map((a) => a.join(' ')));
  const added = next.alternatives.filter((a) => !known.has(a.join(' ')));
  return added.length === 0 ? existing : withAlternatives(existing, [...existing.alternatives, ...added]);
}

function insert(root: Node, policy: RouteMatch, segments: readonly string[]): void {
  let node = root;
  for (const [i, segment] of segments.entries()) {
    if (segment === '**') {
      if (i !== segments.length - 1) throw invalidRoute(policy, '** must be the final segment');
      node.rest = merge(node.rest, policy);
      return;
    }
    if (PARAM.test(segment)) {
      node.param ??= newNode();
      node = node.param;
    } else if (LITERAL.test(segment) && segment !== '.' && segment !== '..') {
      let next = node.literals.get(segment);
      if (!next) {
        next = newNode();
        node.literals.set(segment, next);
      }
      node = next;
    } else {
      throw invalidRoute(policy, `segment "${segment}" is not a literal, {param} or a final **`);
    }
  }
  node.end = merge(node.end, policy);
}

// Literal beats {param} beats **, with backtracking, so the most specific pattern wins.
function walk(node: Node, segments: readonly string[], i: number): RouteMatch | undefined {
  if (i === segments.length) return node.end;
  const segment = segments[i] as string;
  const literal = node.literals.get(segment);
  if (literal) {
    const found = walk(literal, segments, i + 1);
    if (found) return found;
  }
  if (segment === '') return undefined;
  if (node.param) {
    const found = walk(node.param, segments, i + 1);
    if (found) return found;
  }
  return node.rest;
}

export interface RouteTable {
  /** The catalog entry for this method and path, or undefined: whatever is not listed is denied. */
  match(method: string, segments: readonly string[]): RouteMatch | undefined;
}

/**
 * Compiles the catalog once into a per-method segment trie: a lookup is a few map reads, no regex. Throws on
 * any row it cannot enforce exactly as written, so a caller keeps its previous table.
 */
export function compileRouteTable(routes: readonly CatalogRoute[]): RouteTable {
  if (!Array.isArray(routes)) throw new Error('routes: expected a list of catalog routes');
  const roots = new Map<string, Node>();
  for (const route of routes) {
    const { policy, segments } = readRoute(route);
    let root = roots.get(policy.method);
    if (!root) {
      root = newNode();
      roots.set(policy.method, root);
    }
    insert(root, policy, segments);
  }
  return {
    match(method, segments) {
      const root = roots.get(method);
      const found = root ? walk(root, segments, 0) : undefined;
      // RFC 9110 §9.3.2: HEAD is GET without the content, so it needs what GET needs, policy included.
      if (!found && method === 'HEAD') {
        const get = roots.get('GET');
        return get ? walk(get, segments, 0) : undefined;
      }
      return found;
    },
  };
}
