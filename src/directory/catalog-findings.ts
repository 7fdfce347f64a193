import { AppError, invalidInput } from '../shared/app-error.ts';
import { rateLimitPolicyProblem } from '../shared/rate-limit/index.ts';
import type { CatalogDocument, CatalogOperation } from './catalog-document.ts';
import { validateRoutePattern } from './route-pattern.ts';

/**
 * One thing wrong (error: the catalog is refused) or worth knowing (warning: applied, reported) about a
 * catalog. Every finding is reported together, so an operator fixes a whole import in one pass.
 */
export interface CatalogFinding {
  severity: 'error' | 'warning';
  code: CatalogFindingCode;
  /** What it is about: `GET /v1/accounts`, `scope accounts:read`, `role partner_reader`, `resource accounts`. */
  target: string;
  /** The field of that entry the finding is about. */
  field: string;
  detail: string;
}

export type CatalogFindingCode =
  | 'invalid_pattern'
  | 'invalid_name'
  | 'invalid_policy'
  | 'unknown_scope'
  | 'unknown_resource'
  | 'scope_in_use'
  | 'resource_in_use'
  | 'role_in_use'
  | 'deprecated_scope'
  | 'no_scopes'
  | 'duplicate'
  | 'conflicting_pattern'
  | 'shadowed_pattern'
  | 'owner_param_unknown'
  | 'invalid_rate_limit'
  | 'role_grants_nothing'
  | 'scope_not_granted'
  | 'scope_unused';

/** Who holds each role outside the catalog: removing a held role would silently take access away. */
export interface RoleHolders {
  applications: number;
  organisations: number;
}

export interface FindingContext {
  /** The active catalog the document would replace: tells a removed entry from one never defined. */
  before: CatalogDocument;
  roleHolders: ReadonlyMap<string, RoleHolders>;
}

// RFC 6749 §3.3 scope-token, bounded; role and resource names are identifiers partners read.
const SCOPE_NAME = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const ENTRY_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/;
const AUTH = new Set(['token', 'public']);
const MTLS = new Set(['required', 'optional']);
const DPOP = new Set(['refused', 'accepted', 'required']);
const STATUS = new Set(['active', 'deprecated']);

// The gateway's trie ignores parameter names: `/a/{id}` and `/a/{key}` are the same node (match-route.ts).
function shape(pattern: string): string {
  return pattern.replace(/\{[^/}]*\}/g, '{}');
}

export function operationLabel(o: { method: string; path_pattern: string }): string {
  return `${o.method} ${o.path_pattern}`;
}

function patternFindings(operations: readonly CatalogOperation[], found: CatalogFinding[]): void {
  const byMethod = new Map<string, CatalogOperation[]>();
  for (const o of operations) {
    const list = byMethod.get(o.method);
    if (list) list.push(o);
    else byMethod.set(o.method, [o]);
  }
  for (const [method, list] of byMethod) {
    const seen = new Map<string, CatalogOperation>();
    for (const o of list) {
      const s = shape(o.path_pattern);
      const earlier = seen.get(s);
      if (!earlier) {
        seen.set(s, o);
        continue;
      }
      found.push(
        earlier.path_pattern === o.path_pattern
          ? {
              severity: 'error',
              code: 'duplicate',
              target: operationLabel(o),
              field: 'path_pattern',
              detail: `${operationLabel(o)} is listed twice; one operation holds every scope alternative`,
            }
          : {
              severity: 'error',
              code: 'conflicting_pattern',
              target: operationLabel(o),
              field: 'path_pattern',
              detail: `${operationLabel(o)} and ${operationLabel(earlier)} match exactly the same requests; use one spelling`,
            },
      );
    }
    // Literal beats {param} beats a final **, with backtracking: P/** is unreachable for every non-empty
    // segment once both P/{x} and P/{x}/** exist for the same method.
    for (const [s, o] of seen) {
      if (!s.endsWith('/**')) continue;
      const base = s.slice(0, -3);
      if (seen.has(`${base}/{}`) && seen.has(`${base}/{}/**`)) {
        found.push({
          severity: 'error',
          code: 'shadowed_pattern',
          target: operationLabel(o),
          field: 'path_pattern',
          detail: `${method} ${o.path_pattern} is never reached: ${base}/{param} and ${base}/{param}/** take every request first`,
        });
      }
    }
  }
}

/** Every finding about `document` as the next active catalog, errors first, in a stable order. */
export function catalogFindings(document: CatalogDocument, context: FindingContext): CatalogFinding[] {
  const found: CatalogFinding[] = [];
  const scopes = new Map(document.scopes.map((s) => [s.name, s]));
  const resources = new Set(document.resources.map((r) => r.name));
  const beforeScopes = new Map(context.before.scopes.map((s) => [s.name, s]));
  const beforeResources = new Set(context.before.resources.map((r) => r.name));
  const beforeOps = new Map(context.before.operations.map((o) => [o.id, o]));

  const missingScope = (target: string, field: string, scope: string, use: string) => {
    found.push(
      beforeScopes.has(scope)
        ? {
            severity: 'error',
            code: 'scope_in_use',
            target: `scope ${scope}`,
            field: 'name',
            detail: `scope "${scope}" is still ${use} ${target}; deprecate it instead, or change that first`,
          }
        : {
            severity: 'error',
            code: 'unknown_scope',
            target,
            field,
            detail: `scope "${scope}" is not in the catalog`,
          },
    );
  };

  for (const s of document.scopes) {
    if (!SCOPE_NAME.test(s.name)) {
      found.push({
        severity: 'error',
        code: 'invalid_name',
        target: `scope ${s.name}`,
        field: 'name',
        detail: `scope "${s.name}" is not a scope token (RFC 6749 §3.3: printable ASCII, no space, " or \\, at most 128)`,
      });
    }
    if (!STATUS.has(s.status)) {
      found.push({
        severity: 'error',
        code: 'invalid_policy',
        target: `scope ${s.name}`,
        field: 'status',
        detail: `status must be active or deprecated`,
      });
    }
  }
  for (const r of document.resources) {
    if (!ENTRY_NAME.test(r.name)) {
      found.push({
        severity: 'error',
        code: 'invalid_name',
        target: `resource ${r.name}`,
        field: 'name',
        detail: `resource "${r.name}" must start with a letter and hold only letters, digits, _ . : - (at most 100)`,
      });
    }
  }
  for (const role of document.roles) {
    const target = `role ${role.name}`;
    if (!ENTRY_NAME.test(role.name)) {
      found.push({
        severity: 'error',
        code: 'invalid_name',
        target,
        field: 'name',
        detail: `role "${role.name}" must start with a letter and hold only letters, digits, _ . : - (at most 100)`,
      });
    }
    if (role.scopes.length === 0) {
      found.push({
        severity: 'error',
        code: 'role_grants_nothing',
        target,
        field: 'scopes',
        detail: `role "${role.name}" grants no scope; a role is a bundle of at least one`,
      });
    }
    for (const scope of role.scopes) {
      if (!scopes.has(scope)) missingScope(target, 'scopes', scope, 'granted by');
    }
  }

  for (const o of document.operations) {
    const target = operationLabel(o);
    try {
      validateRoutePattern(o.method, o.path_pattern);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const field = typeof err.details?.field === 'string' ? err.details.field : 'path_pattern';
      found.push({ severity: 'error', code: 'invalid_pattern', target, field, detail: err.message });
    }
    for (const [field, value, allowed] of [
      ['auth', o.auth, AUTH],
      ['mtls', o.mtls, MTLS],
      ['dpop', o.dpop, DPOP],
      ['status', o.status, STATUS],
    ] as const) {
      if (!(allowed as Set<string>).has(value)) {
        found.push({
          severity: 'error',
          code: 'invalid_policy',
          target,
          field,
          detail: `${field} must be one of ${[...allowed].join(', ')}`,
        });
      }
    }
    if (o.resource !== null && !resources.has(o.resource)) {
      found.push(
        beforeResources.has(o.resource)
          ? {
              severity: 'error',
              code: 'resource_in_use',
              target: `resource ${o.resource}`,
              field: 'name',
              detail: `resource "${o.resource}" still groups ${target}`,
            }
          : {
              severity: 'error',
              code: 'unknown_resource',
              target,
              field: 'resource',
              detail: `resource "${o.resource}" is not in the catalog`,
            },
      );
    }
    if (o.rate_limit !== undefined) {
      const problem = rateLimitPolicyProblem(o.rate_limit, 'rate_limit');
      if (problem !== undefined || o.auth === 'public') {
        found.push({
          severity: 'error',
          code: 'invalid_rate_limit',
          target,
          field: 'rate_limit',
          detail: problem ?? 'a public operation has no client or organisation to count',
        });
      }
    }
    if (o.owner_param !== null) {
      const params = [...o.path_pattern.matchAll(/\{([^/}]+)\}/g)].map((m) => m[1]);
      if (!params.includes(o.owner_param) || o.auth === 'public') {
        found.push({
          severity: 'error',
          code: 'owner_param_unknown',
          target,
          field: 'owner_param',
          detail:
            o.auth === 'public'
              ? 'a public operation has no caller organisation to guard'
              : `owner_param "${o.owner_param}" is not a {param} of ${o.path_pattern}`,
        });
      }
    }
    if (o.auth === 'public') {
      if (o.required_scopes.length > 0) {
        found.push({
          severity: 'error',
          code: 'invalid_policy',
          target,
          field: 'required_scopes',
          detail: 'a public operation requires no scope; remove them or make it token',
        });
      }
      continue;
    }
    if (o.required_scopes.length === 0 || o.required_scopes.some((a) => a.length === 0)) {
      found.push({
        severity: 'error',
        code: 'no_scopes',
        target,
        field: 'required_scopes',
        detail: `${target} needs at least one scope (mark it public if it needs no token)`,
      });
    }
    const earlier = beforeOps.get(o.id);
    const earlierScopes = new Set(earlier?.required_scopes.flat() ?? []);
    for (const scope of new Set(o.required_scopes.flat())) {
      const s = scopes.get(scope);
      if (!s) {
        missingScope(target, 'required_scopes', scope, 'required by');
      } else if (s.status === 'deprecated') {
        // Deprecated: what already uses it keeps working; nothing new may start to.
        const fresh = !earlierScopes.has(scope);
        found.push({
          severity: fresh ? 'error' : 'warning',
          code: 'deprecated_scope',
          target,
          field: 'required_scopes',
          detail: fresh
            ? `scope "${scope}" is deprecated; a new use of it is refused`
            : `scope "${scope}" is deprecated and still required here`,
        });
      }
    }
  }
  patternFindings(document.operations, found);

  const beforeRoles = new Set(context.before.roles.map((r) => r.name));
  const roles = new Set(document.roles.map((r) => r.name));
  for (const name of beforeRoles) {
    if (roles.has(name)) continue;
    const held = context.roleHolders.get(name);
    if (held && held.applications + held.organisations > 0) {
      found.push({
        severity: 'error',
        code: 'role_in_use',
        target: `role ${name}`,
        field: 'name',
        detail: `role "${name}" is held by ${held.applications} application(s) and approved for ${held.organisations} organisation(s); deprecate it, or take it away from them first`,
      });
    }
  }

  // Warnings: what applies but leaves something nobody can use.
  const granted = new Set(document.roles.filter((r) => r.status === 'active').flatMap((r) => r.scopes));
  const required = new Set(document.operations.flatMap((o) => o.required_scopes.flat()));
  for (const o of document.operations) {
    if (o.auth !== 'token' || o.required_scopes.length === 0) continue;
    if (o.required_scopes.every((a) => a.some((s) => !granted.has(s)))) {
      found.push({
        severity: 'warning',
        code: 'scope_not_granted',
        target: operationLabel(o),
        field: 'required_scopes',
        detail: `no active role grants what ${operationLabel(o)} requires: no partner can call it yet`,
      });
    }
  }
  for (const s of document.scopes) {
    if (s.status === 'active' && !required.has(s.name) && !granted.has(s.name)) {
      found.push({
        severity: 'warning',
        code: 'scope_unused',
        target: `scope ${s.name}`,
        field: 'name',
        detail: `scope "${s.name}" is required by no operation and granted by no role`,
      });
    }
  }
  return found.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** 400 naming every error when the catalog is refused; the warnings ride along. */
export function assertNoErrors(found: readonly CatalogFinding[]): void {
  const errors = found.filter((f) => f.severity === 'error');
  if (errors.length === 0) return;
  throw invalidInput(`the catalog change is refused: ${errors.map((f) => f.detail).join('; ')}`, {
    errors,
    warnings: found.filter((f) => f.severity === 'warning'),
  });
}
