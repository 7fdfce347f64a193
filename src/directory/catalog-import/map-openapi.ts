import {
  normaliseRules,
  type RateLimitPolicy,
  rateLimitPolicyProblem,
} from '../../shared/rate-limit/index.ts';
import type {
  CatalogOperation,
  CatalogResource,
  CatalogScope,
  OperationDpop,
  OperationMtls,
} from '../catalog-document.ts';
import { compareOperations, normaliseAlternatives } from '../catalog-document.ts';
import { error, type ImportFinding, isObject, pointerOf, warning } from './findings.ts';
import type { OpenApiDocument } from './parse-openapi.ts';
import { normaliseBasePath, serverBasePath, templateToPattern } from './path-template.ts';
import { declaredScopes, operationSecurity, scopeVersion, securityContext } from './security.ts';

/** An operation as the import proposes it: the catalog assigns ids (mergeImport). */
export type ImportedOperation = Omit<CatalogOperation, 'id'>;

export interface ImportOpenApiOptions {
  /** Prefix of every pattern; default: the path of the first `servers[].url`, else none. */
  basePath?: string;
  /** Operations that need no token: `"GET /status"` (the document's path or the resulting pattern) or operationIds. */
  publicOperations?: readonly string[];
  /** The `<name>` of source `openapi:<name>`; default: a slug of `info.title`. */
  source?: string;
}

export interface ImportedCatalog {
  /** `openapi:<name>`: what mergeImport replaces. */
  source: string;
  /** Sorted as the catalog sorts (pattern, then method). Operations with an error finding are left out. */
  operations: ImportedOperation[];
  /** `pointers[i]`: where `operations[i]` is in the document. */
  pointers: string[];
  scopes: CatalogScope[];
  resources: CatalogResource[];
  findings: ImportFinding[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'] as const;
const UNSUPPORTED_METHODS = ['options', 'trace'];
const MAX_DESCRIPTION = 500;
const SOURCE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
// The gateway's trie ignores parameter names: `/a/{x}` and `/a/{y}` are one route.
const shape = (pattern: string) => pattern.replace(/\{[^/}]*\}/g, '{}');

/**
 * Maps a dereferenced OpenAPI document (parseOpenApi) onto catalog operations, scopes and resources. Pure:
 * the catalog is not read; mergeImport puts the result into a catalog document. Every operation must need a
 * scope unless it is declared public; what the gateway cannot enforce is said, not silently dropped.
 */
export function importOpenApi(spec: OpenApiDocument, options: ImportOpenApiOptions = {}): ImportedCatalog {
  const findings: ImportFinding[] = [];
  const source = `openapi:${sourceName(spec, options, findings)}`;
  const security = securityContext(spec);
  const tagDescriptions = new Map<string, string>();
  if (Array.isArray(spec.tags)) {
    for (const tag of spec.tags) {
      if (isObject(tag) && typeof tag.name === 'string' && typeof tag.description === 'string') {
        tagDescriptions.set(tag.name, tag.description);
      }
    }
  }
  const publicRequested = new Set(options.publicOperations ?? []);
  const publicMatched = new Set<string>();
  const defaultBase = basePathFor(options, [spec.servers], ['servers'], findings);

  const mapped: Array<{ operation: ImportedOperation; pointer: string }> = [];
  const byShape = new Map<string, string>();
  const byOperationId = new Map<string, string>();
  const resources = new Map<string, CatalogResource>();
  const paths = isObject(spec.paths) ? spec.paths : {};

  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item) || template.startsWith('x-')) continue;
    for (const [key, op] of Object.entries(item)) {
      const pointer = pointerOf('paths', template, key);
      if (UNSUPPORTED_METHODS.includes(key)) {
        findings.push(
          warning(
            'unsupported_method',
            pointer,
            `${key.toUpperCase()} ${template} is skipped: the gateway does not route ${key.toUpperCase()}`,
          ),
        );
        continue;
      }
      if (!(METHODS as readonly string[]).includes(key) || !isObject(op)) continue;
      const method = key.toUpperCase();
      const own: ImportFinding[] = [];
      const base =
        options.basePath === undefined && (hasServers(op) || hasServers(item))
          ? basePathFor(
              options,
              [op.servers, item.servers],
              [`${pointer.slice(1)}/servers`, `${pointerOf('paths', template).slice(1)}/servers`],
              own,
            )
          : defaultBase;
      const template_ = templateToPattern(method, base, template);
      if ('error' in template_) {
        findings.push(error('invalid_path_template', pointerOf('paths', template), template_.error));
        continue;
      }
      const { pattern, params } = template_;
      const operationId = typeof op.operationId === 'string' ? op.operationId : null;

      const publicMark = op['x-accredit-public'];
      if (publicMark !== undefined && typeof publicMark !== 'boolean') {
        own.push(
          error(
            'invalid_extension',
            `${pointer}/x-accredit-public`,
            'x-accredit-public must be true or false',
          ),
        );
      }
      const publicKeys = [
        `${method} ${template}`,
        `${method} ${pattern}`,
        ...(operationId ? [operationId] : []),
      ];
      const listedPublic = publicKeys.filter((k) => publicRequested.has(k));
      for (const k of listedPublic) publicMatched.add(k);
      const isPublic = publicMark === true || listedPublic.length > 0;

      const requirementsPointer = op.security !== undefined ? `${pointer}/security` : '/security';
      const sec = operationSecurity(
        op.security !== undefined ? op.security : spec.security,
        requirementsPointer,
        security,
        isPublic,
      );
      own.push(...sec.findings);
      if (isPublic && sec.alternatives.length > 0) {
        own.push(
          warning(
            'public_with_security',
            pointer,
            `${method} ${template} is public: its OAuth requirements are not enforced`,
          ),
        );
      }
      if (!isPublic && sec.alternatives.length === 0 && !own.some((f) => f.severity === 'error')) {
        own.push(
          error(
            'operation_without_security',
            pointer,
            `${method} ${template} needs no OAuth scope: add a security requirement, or mark it x-accredit-public: true if anyone may call it`,
          ),
        );
      }

      const ownerParam = ownerParamOf(op, pointer, params, own);
      const dpop = dpopOf(op, pointer, own);
      const mtls = mtlsOf(op, pointer, sec.mutualTls, own);
      const rateLimit = rateLimitOf(op, pointer, own);

      const shapeKey = `${method} ${shape(pattern)}`;
      const sameRoute = byShape.get(shapeKey);
      if (sameRoute !== undefined) {
        own.push(
          error('duplicate_operation', pointer, `${method} ${pattern} is the same route as ${sameRoute}`),
        );
      }
      if (operationId !== null) {
        const sameId = byOperationId.get(operationId);
        if (sameId !== undefined) {
          own.push(
            error(
              'duplicate_operation_id',
              `${pointer}/operationId`,
              `operationId "${operationId}" is also used at ${sameId}`,
            ),
          );
        } else byOperationId.set(operationId, pointer);
      }
      findings.push(...own);
      if (own.some((f) => f.severity === 'error')) continue;
      byShape.set(shapeKey, `${method} ${pattern}`);

      const tag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : null;
      if (tag !== null && !resources.has(tag)) {
        resources.set(tag, { name: tag, description: tagDescriptions.get(tag) ?? '', status: 'active' });
      }
      mapped.push({
        pointer,
        operation: {
          method,
          path_pattern: pattern,
          resource: tag,
          operation_id: operationId,
          source,
          description: descriptionOf(op, operationId),
          required_scopes: isPublic ? [] : normaliseAlternatives(sec.alternatives),
          auth: isPublic ? 'public' : 'token',
          mtls,
          dpop,
          owner_param: ownerParam,
          status: op.deprecated === true ? 'deprecated' : 'active',
          ...(rateLimit !== undefined ? { rate_limit: rateLimit } : {}),
        },
      });
    }
  }

  for (const requested of publicRequested) {
    if (!publicMatched.has(requested)) {
      findings.push(
        warning(
          'unknown_public_operation',
          '',
          `publicOperations names "${requested}", which is no operation of the document`,
        ),
      );
    }
  }
  if (mapped.length === 0 && !findings.some((f) => f.severity === 'error')) {
    findings.push(warning('no_operations', '/paths', 'the document has no operation'));
  }
  mapped.sort((a, b) => compareOperations(a.operation as CatalogOperation, b.operation as CatalogOperation));
  return {
    source,
    operations: mapped.map((m) => m.operation),
    pointers: mapped.map((m) => m.pointer),
    scopes: scopesOf(security),
    resources: [...resources.values()].sort(byName),
    findings,
  };
}

/** The flows' declared scopes of every OAuth scheme used, then scopes used without a declaration. */
function scopesOf(security: ReturnType<typeof securityContext>): CatalogScope[] {
  const scopes = new Map<string, CatalogScope>();
  const add = (name: string, description: string) => {
    if (!scopes.has(name))
      scopes.set(name, { name, description, version: scopeVersion(name), status: 'active' });
  };
  for (const name of security.usedOauthSchemes) {
    for (const [scope, description] of declaredScopes(security.schemes[name])) add(scope, description);
  }
  for (const scope of security.usedScopes) add(scope, '');
  return [...scopes.values()].sort(byName);
}

function hasServers(node: Record<string, unknown>): boolean {
  return Array.isArray(node.servers) && node.servers.length > 0;
}

/** The base path: the option, else the first server of the nearest `servers` list (operation, path, document). */
function basePathFor(
  options: ImportOpenApiOptions,
  serverLists: unknown[],
  pointers: string[],
  findings: ImportFinding[],
): string {
  if (options.basePath !== undefined) return normaliseBasePath(options.basePath);
  for (const [i, servers] of serverLists.entries()) {
    if (!Array.isArray(servers) || servers.length === 0) continue;
    const base = serverBasePath(servers[0]);
    if ('basePath' in base) return base.basePath;
    findings.push(error('invalid_server', `/${pointers[i]}/0/url`, base.error));
    return '';
  }
  return '';
}

function sourceName(spec: OpenApiDocument, options: ImportOpenApiOptions, findings: ImportFinding[]): string {
  if (options.source !== undefined) {
    if (SOURCE_NAME.test(options.source)) return options.source;
    findings.push(
      error(
        'invalid_source',
        '',
        `the source name "${options.source}" must be 1–64 of a-z, 0-9, ".", "_", "-"`,
      ),
    );
    return 'invalid';
  }
  const title = isObject(spec.info) && typeof spec.info.title === 'string' ? spec.info.title : '';
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  if (slug !== '') return slug;
  findings.push(error('invalid_source', '/info/title', 'the title gives no source name: pass one'));
  return 'invalid';
}

function descriptionOf(op: Record<string, unknown>, operationId: string | null): string {
  for (const text of [op.summary, op.description]) {
    if (typeof text === 'string' && text.trim() !== '') return text.trim().slice(0, MAX_DESCRIPTION);
  }
  return operationId ?? '';
}

function ownerParamOf(
  op: Record<string, unknown>,
  pointer: string,
  params: Map<string, string>,
  findings: ImportFinding[],
): string | null {
  const value = op['x-accredit-owner-param'];
  if (value === undefined) return null;
  const mapped =
    typeof value === 'string'
      ? (params.get(value) ?? ([...params.values()].includes(value) ? value : undefined))
      : undefined;
  if (mapped !== undefined) return mapped;
  findings.push(
    error(
      'invalid_owner_param',
      `${pointer}/x-accredit-owner-param`,
      `x-accredit-owner-param must name a path parameter of this operation (${[...params.keys()].map((p) => `{${p}}`).join(', ') || 'it has none'})`,
    ),
  );
  return null;
}

/** `x-accredit-rate-limit: { client?: [{ quota, window }], organisation?: [...] }` (issue 16). */
function rateLimitOf(
  op: Record<string, unknown>,
  pointer: string,
  findings: ImportFinding[],
): RateLimitPolicy | undefined {
  const value = op['x-accredit-rate-limit'];
  if (value === undefined) return undefined;
  const problem = rateLimitPolicyProblem(value, 'x-accredit-rate-limit');
  if (problem !== undefined) {
    findings.push(error('invalid_extension', `${pointer}/x-accredit-rate-limit`, problem));
    return undefined;
  }
  const given = value as RateLimitPolicy;
  return {
    ...(given.client !== undefined ? { client: normaliseRules(given.client) } : {}),
    ...(given.organisation !== undefined ? { organisation: normaliseRules(given.organisation) } : {}),
  };
}

function dpopOf(op: Record<string, unknown>, pointer: string, findings: ImportFinding[]): OperationDpop {
  const value = op['x-accredit-dpop'];
  if (value === undefined || value === false) return 'refused';
  if (value === true) return 'accepted';
  if (value === 'required') return 'required';
  findings.push(
    error(
      'invalid_extension',
      `${pointer}/x-accredit-dpop`,
      'x-accredit-dpop must be true, false or "required"',
    ),
  );
  return 'refused';
}

function mtlsOf(
  op: Record<string, unknown>,
  pointer: string,
  mutualTls: boolean,
  findings: ImportFinding[],
): OperationMtls {
  const value = op['x-accredit-mtls'];
  if (value === undefined || value === 'required') return 'required';
  if (value !== 'optional') {
    findings.push(
      error(
        'invalid_extension',
        `${pointer}/x-accredit-mtls`,
        'x-accredit-mtls must be "required" or "optional"',
      ),
    );
    return 'required';
  }
  if (mutualTls) {
    // The document says a certificate is part of the security; the stricter reading wins.
    findings.push(
      warning(
        'mtls_conflict',
        `${pointer}/x-accredit-mtls`,
        'x-accredit-mtls: optional contradicts a mutualTLS requirement; mTLS stays required',
      ),
    );
    return 'required';
  }
  return 'optional';
}
