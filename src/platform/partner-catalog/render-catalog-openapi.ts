import type { PartnerCatalog, PartnerOperation } from './render-catalog-json.ts';

/**
 * The partner view as an OpenAPI 3.1 document, for code generators and API tools.
 *
 * Path patterns map onto path templates, except the final `**` (one or more further segments), which OpenAPI
 * cannot express: a template parameter never spans a `/`. It is rendered as a last parameter `{rest}` whose
 * description says it stands for every deeper path, and every operation carries its catalog pattern in
 * `x-accredit-pattern`, the one to trust. Patterns OpenAPI deems identical (`/a/{id}` and `/a/{name}`, or
 * `/a/{id}` and `/a/**`) share one path item under the first one's parameter names; when they also share a
 * method, the later operation cannot be a path item's and is listed in `x-accredit-unlisted-operations`.
 */
export type OpenApiDocument = Record<string, unknown>;

export const OAUTH2_SCHEME = 'oauth2';
export const MTLS_SCHEME = 'mutualTLS';

const PARAM = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/;

interface Template {
  /** `/a/{}/b/{}`: the shape OpenAPI compares templates by. */
  shape: string;
  segments: Array<{ literal: string } | { param: string; rest: boolean }>;
}

function templateOf(pattern: string): Template {
  const raw = pattern === '/' ? [] : pattern.slice(1).split('/');
  const names = new Set(raw.map((s) => PARAM.exec(s)?.[1]).filter((n): n is string => n !== undefined));
  let restName = 'rest';
  for (let i = 2; names.has(restName); i++) restName = `rest${i}`;
  const segments = raw.map((s) => {
    if (s === '**') return { param: restName, rest: true };
    const name = PARAM.exec(s)?.[1];
    return name !== undefined ? { param: name, rest: false } : { literal: s };
  });
  const shape = `/${segments.map((s) => ('literal' in s ? s.literal : '{}')).join('/')}`;
  return { shape, segments };
}

function pathKey(segments: Template['segments'], names: readonly string[]): string {
  let i = 0;
  const parts = segments.map((s) => ('literal' in s ? s.literal : `{${names[i++]}}`));
  return `/${parts.join('/')}`;
}

function paramNames(segments: Template['segments']): string[] {
  return segments.flatMap((s) => ('param' in s ? [s.param] : []));
}

function notes(operation: PartnerOperation, ownerParam: string | null, restParam: string | null): string[] {
  const out: string[] = [];
  if (restParam)
    out.push(`\`{${restParam}}\` stands for one or more further path segments: every deeper path.`);
  if (operation.public) out.push('Public: no access token is needed.');
  if (operation.requires_client_certificate)
    out.push('A trusted client certificate is required (mutual TLS).');
  if (operation.requires_dpop) out.push('Only DPoP-bound access tokens (RFC 9449) are accepted.');
  else if (operation.accepts_dpop) out.push('DPoP-bound access tokens (RFC 9449) are accepted.');
  if (ownerParam) out.push(`\`{${ownerParam}}\` must be your own organisation's id.`);
  if (operation.roles_granting.length > 0) {
    const roles = operation.roles_granting.map((g) =>
      g.roles.length > 0 ? g.roles.join(', ') : 'a combination of roles (see x-accredit-roles)',
    );
    out.push(`Roles that grant it: ${roles.join('; or ')}.`);
  }
  return out;
}

function security(operation: PartnerOperation): Record<string, string[]>[] {
  const mtls: Record<string, string[]> = operation.requires_client_certificate ? { [MTLS_SCHEME]: [] } : {};
  // OpenAPI ANDs the schemes of one requirement object and ORs the objects: one object per alternative.
  if (operation.public) return operation.requires_client_certificate ? [mtls] : [];
  return operation.scopes.map((alternative) => ({ [OAUTH2_SCHEME]: [...alternative], ...mtls }));
}

function operationObject(
  operation: PartnerOperation,
  names: readonly string[],
  template: Template,
  operationId: string | undefined,
): Record<string, unknown> {
  const own = paramNames(template.segments);
  const renamed = (name: string | null) => (name === null ? null : (names[own.indexOf(name)] ?? name));
  const restIndex = template.segments.filter((s) => 'param' in s).findIndex((s) => 'rest' in s && s.rest);
  const restParam = restIndex >= 0 ? (names[restIndex] ?? null) : null;
  const ownerParam = renamed(operation.owner_param);
  return {
    ...(operationId !== undefined ? { operationId } : {}),
    summary: operation.description,
    description: notes(operation, ownerParam, restParam).join('\n\n'),
    ...(operation.resource !== null ? { tags: [operation.resource] } : {}),
    ...(operation.deprecated ? { deprecated: true } : {}),
    ...(names.length > 0
      ? {
          parameters: names.map((name, i) => ({
            name,
            in: 'path',
            required: true,
            schema: { type: 'string' },
            ...(i === restIndex ? { description: 'One or more further path segments.' } : {}),
            ...(name === ownerParam ? { description: "Your own organisation's id." } : {}),
          })),
        }
      : {}),
    security: security(operation),
    ...(operation.public
      ? {}
      : {
          responses: {
            '401': { description: 'No valid access token, or not bound to the connection (RFC 6750).' },
            '403': { description: 'The access token lacks the scopes (insufficient_scope).' },
          },
        }),
    'x-accredit-pattern': operation.path,
    'x-accredit-roles': operation.roles_granting,
    ...(operation.accepts_dpop ? { 'x-accredit-dpop': operation.requires_dpop ? 'required' : true } : {}),
    ...(ownerParam !== null ? { 'x-accredit-owner-param': ownerParam } : {}),
  };
}

/** `info.version` is the catalog's version: it changes exactly when the published content does. */
export function renderCatalogOpenApi(catalog: PartnerCatalog): OpenApiDocument {
  // operationId must be unique in a document: one claimed twice is left out of both.
  const idCounts = new Map<string, number>();
  for (const o of catalog.operations) {
    if (o.operation_id !== null) idCounts.set(o.operation_id, (idCounts.get(o.operation_id) ?? 0) + 1);
  }
  // Patterns without `**` first, so that a specific template keeps its path item and methods.
  const isRest = (o: PartnerOperation) => Number(o.path.endsWith('/**'));
  const ordered = [...catalog.operations].sort((a, b) => isRest(a) - isRest(b));
  const items = new Map<string, { key: string; names: string[]; methods: Map<string, unknown> }>();
  const unlisted: unknown[] = [];
  for (const operation of ordered) {
    const template = templateOf(operation.path);
    let item = items.get(template.shape);
    if (!item) {
      const names = paramNames(template.segments);
      item = { key: pathKey(template.segments, names), names, methods: new Map() };
      items.set(template.shape, item);
    }
    const id = operation.operation_id;
    const operationId = id !== null && idCounts.get(id) === 1 ? id : undefined;
    const method = operation.method.toLowerCase();
    if (item.methods.has(method)) {
      const own = operationObject(operation, paramNames(template.segments), template, operationId);
      unlisted.push({
        method: operation.method,
        path: pathKey(template.segments, paramNames(template.segments)),
        ...own,
      });
    } else item.methods.set(method, operationObject(operation, item.names, template, operationId));
  }
  const paths = Object.fromEntries(
    [...items.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((item) => [item.key, Object.fromEntries(item.methods)]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: catalog.title,
      version: catalog.version,
      description: [
        'The access catalog of this API: every operation, the OAuth scopes it needs and the roles that hold them.',
        ...catalog.how_to_request_access.steps.map((step, i) => `${i + 1}. ${step}`),
      ].join('\n\n'),
    },
    servers: [{ url: catalog.gateway_url }],
    tags: catalog.resources.map((r) => ({
      name: r.name,
      description: r.description,
      ...(r.deprecated ? { 'x-accredit-deprecated': true } : {}),
    })),
    paths,
    components: {
      securitySchemes: {
        [OAUTH2_SCHEME]: {
          type: 'oauth2',
          description:
            'Client credentials at the mTLS token endpoint; tokens are bound to the client certificate (RFC 8705).',
          flows: {
            clientCredentials: {
              tokenUrl: catalog.token_endpoint,
              scopes: Object.fromEntries(
                catalog.scopes.map((s) => [
                  s.name,
                  s.deprecated ? `${s.description} (deprecated)` : s.description,
                ]),
              ),
            },
          },
        },
        [MTLS_SCHEME]: {
          type: 'mutualTLS',
          description: `A client certificate issued by the platform CA (${catalog.ca_bundle_url}) or registered self-signed.`,
        },
      },
    },
    'x-accredit-roles': catalog.roles,
    ...(unlisted.length > 0 ? { 'x-accredit-unlisted-operations': unlisted } : {}),
  };
}
