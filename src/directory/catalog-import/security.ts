import { error, type ImportFinding, isObject, pointerOf, warning } from './findings.ts';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;

/** What the document's security says about one operation, in the catalog's terms. */
export interface OperationSecurity {
  /** One entry per requirement object naming an OAuth scheme: the scopes all needed together. */
  alternatives: string[][];
  /** A requirement names a `mutualTLS` scheme (OpenAPI 3.1). */
  mutualTls: boolean;
  findings: ImportFinding[];
}

/** State shared by every operation of one import: which schemes and scopes were used, what was said once. */
export interface SecurityContext {
  schemes: Record<string, unknown>;
  /** Schemes of type oauth2 or openIdConnect some requirement names. */
  usedOauthSchemes: Set<string>;
  /** Scopes some requirement names, in first-use order. */
  usedScopes: Set<string>;
  /** Non-OAuth schemes already warned about (once per scheme, not once per operation). */
  warnedSchemes: Set<string>;
  /** Undeclared scopes already warned about. */
  warnedScopes: Set<string>;
}

export function securityContext(spec: Record<string, unknown>): SecurityContext {
  const components = isObject(spec.components) ? spec.components : {};
  return {
    schemes: isObject(components.securitySchemes) ? components.securitySchemes : {},
    usedOauthSchemes: new Set(),
    usedScopes: new Set(),
    warnedSchemes: new Set(),
    warnedScopes: new Set(),
  };
}

/** The scopes an oauth2 scheme declares across its flows, name → description (first flow declaring it wins). */
export function declaredScopes(scheme: unknown): Map<string, string> {
  const declared = new Map<string, string>();
  if (!isObject(scheme) || !isObject(scheme.flows)) return declared;
  for (const flow of Object.values(scheme.flows)) {
    if (!isObject(flow) || !isObject(flow.scopes)) continue;
    for (const [name, description] of Object.entries(flow.scopes)) {
      if (!declared.has(name)) declared.set(name, typeof description === 'string' ? description : '');
    }
  }
  return declared;
}

/**
 * Reads the requirement list that applies to an operation (its own `security`, else the document's). Each
 * requirement object is one alternative; only OAuth schemes (oauth2, openIdConnect) contribute scopes, since
 * the gateway checks tokens and nothing else. An alternative without an OAuth scheme is not offered: the
 * gateway needs a token on every non-public operation, so such an alternative would admit nobody.
 */
export function operationSecurity(
  requirements: unknown,
  requirementsPointer: string,
  context: SecurityContext,
  isPublic: boolean,
): OperationSecurity {
  const findings: ImportFinding[] = [];
  const alternatives: string[][] = [];
  let mutualTls = false;
  const list = Array.isArray(requirements) ? requirements : [];
  list.forEach((requirement, index) => {
    if (!isObject(requirement)) return;
    const at = `${requirementsPointer}${pointerOf(index)}`;
    const names = Object.keys(requirement);
    if (names.length === 0) {
      if (!isPublic) {
        findings.push(
          warning(
            'anonymous_alternative',
            at,
            'an empty security requirement lets anyone call the operation upstream; the gateway still requires a token (mark the operation x-accredit-public to let anyone through)',
          ),
        );
      }
      return;
    }
    const alternative: string[] = [];
    let oauth = false;
    let broken = false;
    for (const name of names) {
      // Own properties only: a requirement naming `constructor` or `__proto__` names no scheme.
      const scheme = Object.hasOwn(context.schemes, name) ? context.schemes[name] : undefined;
      const schemeAt = at + pointerOf(name);
      if (!isObject(scheme)) {
        findings.push(
          error(
            'undefined_scheme',
            schemeAt,
            `the security scheme "${name}" is not in components.securitySchemes`,
          ),
        );
        broken = true;
        continue;
      }
      if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') {
        oauth = true;
        context.usedOauthSchemes.add(name);
        const scopes = Array.isArray(requirement[name]) ? (requirement[name] as unknown[]) : [];
        if (scopes.length === 0) {
          findings.push(
            error(
              'no_scopes',
              schemeAt,
              `the requirement names "${name}" without scopes: every operation must need at least one scope (least privilege)`,
            ),
          );
          broken = true;
          continue;
        }
        const declared = scheme.type === 'oauth2' ? declaredScopes(scheme) : undefined;
        scopes.forEach((scope, i) => {
          if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
            findings.push(
              error(
                'invalid_scope_name',
                schemeAt + pointerOf(i),
                `${JSON.stringify(scope)} is not an OAuth scope name`,
              ),
            );
            broken = true;
            return;
          }
          alternative.push(scope);
          context.usedScopes.add(scope);
          // An openIdConnect scheme declares its scopes in the provider's discovery document, never fetched here.
          if (declared && !declared.has(scope) && !context.warnedScopes.has(scope)) {
            context.warnedScopes.add(scope);
            findings.push(
              warning(
                'undeclared_scope',
                schemeAt + pointerOf(i),
                `the scope "${scope}" is not declared by any flow of "${name}"; it is created without a description`,
              ),
            );
          }
        });
      } else if (scheme.type === 'mutualTLS') {
        mutualTls = true;
      } else if (!context.warnedSchemes.has(name)) {
        context.warnedSchemes.add(name);
        findings.push(
          warning(
            'non_oauth_scheme',
            schemeAt,
            `the ${String(scheme.type)} scheme "${name}" is not enforced by the gateway; the upstream must still check it`,
          ),
        );
      }
    }
    if (oauth && !broken) alternatives.push(alternative);
  });
  return { alternatives, mutualTls, findings };
}

/** `accounts:read:v1` → `v1`, `accounts.read.v2.1` → `v2.1`, `accounts:read` → null. */
export function scopeVersion(scope: string): string | null {
  return /[:.](v\d+(?:\.\d+)*)$/.exec(scope)?.[1] ?? null;
}
