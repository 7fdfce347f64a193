/** One row of the access catalog: this method on this path pattern is allowed with this scope. */
export interface CatalogRoute {
  method: string;
  /** Literal segments, `{param}` for exactly one non-empty segment, an optional final `**` for one or more. */
  pathPattern: string;
  scope: string;
}

export interface RouteMatch {
  method: string;
  pathPattern: string;
  /** Any one of these scopes grants the operation (each catalog row is one grant). */
  scopes: readonly string[];
  /** The scopes space-delimited, ready for a `scope` challenge attribute (RFC 6750 §3). */
  scopeText: string;
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
const PARAM = /^\{[A-Za-z][A-Za-z0-9_]*\}$/;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function newNode(): Node {
  return { literals: new Map(), param: undefined, rest: undefined, end: undefined };
}

function addScope(existing: RouteMatch | undefined, route: CatalogRoute): RouteMatch {
  if (!existing) {
    return {
      method: route.method,
      pathPattern: route.pathPattern,
      scopes: [route.scope],
      scopeText: route.scope,
    };
  }
  if (existing.scopes.includes(route.scope)) return existing;
  const scopes = [...existing.scopes, route.scope];
  return { ...existing, scopes, scopeText: scopes.join(' ') };
}

function invalidRoute(route: CatalogRoute, why: string): Error {
  return new Error(`routes: ${route.method} ${route.pathPattern}: ${why}`);
}

function insert(root: Node, route: CatalogRoute): void {
  if (!route.pathPattern.startsWith('/')) throw invalidRoute(route, 'path pattern must start with /');
  // scope-token syntax, RFC 6749 §3.3: no spaces, quotes or backslashes.
  if (!SCOPE.test(route.scope)) throw invalidRoute(route, `scope "${route.scope}" is not a scope token`);
  const segments = route.pathPattern === '/' ? [] : route.pathPattern.slice(1).split('/');
  let node = root;
  for (const [i, segment] of segments.entries()) {
    if (segment === '**') {
      if (i !== segments.length - 1) throw invalidRoute(route, '** must be the final segment');
      node.rest = addScope(node.rest, route);
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
      throw invalidRoute(route, `segment "${segment}" is not a literal, {param} or a final **`);
    }
  }
  node.end = addScope(node.end, route);
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

/** Compiles the catalog once into a per-method segment trie: a lookup is a few map reads, no regex. */
export function compileRouteTable(routes: readonly CatalogRoute[]): RouteTable {
  const roots = new Map<string, Node>();
  for (const route of routes) {
    if (!METHOD.test(route.method)) throw invalidRoute(route, 'method must be an upper-case HTTP method');
    let root = roots.get(route.method);
    if (!root) {
      root = newNode();
      roots.set(route.method, root);
    }
    insert(root, route);
  }
  return {
    match(method, segments) {
      const root = roots.get(method);
      const found = root ? walk(root, segments, 0) : undefined;
      // RFC 9110 §9.3.2: HEAD is GET without the content, so it needs what GET needs.
      if (!found && method === 'HEAD') {
        const get = roots.get('GET');
        return get ? walk(get, segments, 0) : undefined;
      }
      return found;
    },
  };
}
