import { createHash } from 'node:crypto';
import type { CatalogDocument, CatalogOperation } from '../../directory/index.ts';
import type { PartnerCatalogContext } from './partner-catalog-context.ts';
import { type RolesGranting, rolesByScope, rolesGranting } from './roles-granting.ts';

/**
 * The partner view of the active catalog: what a partner needs to ask for access and call the API, and nothing
 * more. It is the only input of the OpenAPI and HTML renderers, so what leaves the platform is decided here
 * once: no internal ids, no import sources, no organisation or application data, never a draft.
 */
export interface PartnerCatalog {
  /** A digest of everything below: changes exactly when the published content does. */
  version: string;
  title: string;
  issuer: string;
  token_endpoint: string;
  gateway_url: string;
  ca_bundle_url: string;
  how_to_request_access: HowToRequestAccess;
  resources: PartnerResource[];
  operations: PartnerOperation[];
  scopes: PartnerScope[];
  roles: PartnerRole[];
}

export interface HowToRequestAccess {
  steps: string[];
  /** The operator's instructions as configured (catalog.accessRequest), or null. */
  contact: string | null;
  /** The same when it is an https: or mailto: URL, the only kinds rendered as a link. */
  contact_url: string | null;
}

export interface PartnerResource {
  name: string;
  description: string;
  deprecated: boolean;
  operations: { method: string; path: string }[];
}

export interface PartnerOperation {
  method: string;
  /** The catalog pattern: `{name}` is one segment, a final `**` any one or more further segments. */
  path: string;
  operation_id: string | null;
  resource: string | null;
  description: string;
  deprecated: boolean;
  /** No token needed: the gateway forwards without an identity. */
  public: boolean;
  requires_client_certificate: boolean;
  /** DPoP-bound tokens (RFC 9449) are accepted besides certificate-bound ones. */
  accepts_dpop: boolean;
  /** Only DPoP-bound tokens (RFC 9449) are accepted (`dpop: required`). */
  requires_dpop: boolean;
  /** The path parameter whose value must be the caller's own organisation id. */
  owner_param: string | null;
  /** Alternatives: any one grants the operation, every scope of one is needed. */
  scopes: string[][];
  roles_granting: RolesGranting[];
}

export interface PartnerScope {
  name: string;
  version: string | null;
  description: string;
  deprecated: boolean;
  roles: string[];
}

export interface PartnerRole {
  name: string;
  description: string;
  deprecated: boolean;
  scopes: string[];
}

const LINKABLE = new Set(['https:', 'mailto:']);

/** The configured instructions as a link target when they are one; never javascript:, data: or http:. */
export function accessRequestUrl(text: string | undefined): string | null {
  if (text === undefined || !URL.canParse(text.trim())) return null;
  const url = new URL(text.trim());
  return LINKABLE.has(url.protocol) ? url.href : null;
}

function howToRequestAccess(context: PartnerCatalogContext): HowToRequestAccess {
  const contact = context.accessRequest?.trim() || null;
  return {
    steps: [
      'Find the operations you need below, the scopes each one requires and the roles that hold them.',
      contact
        ? `Ask the operator to grant a role holding those scopes to your application: ${contact}`
        : 'Ask the operator to grant a role holding those scopes to your application.',
      `Use a client certificate issued by the platform CA (trust anchors: ${context.caBundleUrl}) or register a self-signed one with your application.`,
      `Request an access token with the client_credentials grant at ${context.tokenEndpoint}, over TLS with that certificate, asking for the scopes.`,
      `Call the API at ${context.gatewayUrl} with the token, over TLS with the same certificate.`,
    ],
    contact,
    contact_url: accessRequestUrl(contact ?? undefined),
  };
}

function partnerOperation(
  operation: CatalogOperation,
  holders: ReadonlyMap<string, readonly string[]>,
): PartnerOperation {
  const isPublic = operation.auth === 'public';
  const scopes = isPublic ? [] : operation.required_scopes.map((alternative) => [...alternative]);
  return {
    method: operation.method,
    path: operation.path_pattern,
    operation_id: operation.operation_id,
    resource: operation.resource,
    description: operation.description,
    deprecated: operation.status === 'deprecated',
    public: isPublic,
    requires_client_certificate: operation.mtls === 'required',
    accepts_dpop: operation.dpop !== 'refused',
    requires_dpop: operation.dpop === 'required',
    owner_param: operation.owner_param,
    scopes,
    roles_granting: rolesGranting(scopes, holders),
  };
}

/**
 * A digest of the published content: the OpenAPI `info.version` and the ETags. The catalog's revision would
 * not do: the page also changes with the configuration (URLs, instructions), and a role edit is no revision.
 */
function digest(content: Omit<PartnerCatalog, 'version'>): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 22);
}

/** Renders the partner view of the active catalog `document`. */
export function renderCatalogJson(document: CatalogDocument, context: PartnerCatalogContext): PartnerCatalog {
  const holders = rolesByScope(document.roles);
  const operations = document.operations.map((o) => partnerOperation(o, holders));
  const content: Omit<PartnerCatalog, 'version'> = {
    title: context.title,
    issuer: context.issuer,
    token_endpoint: context.tokenEndpoint,
    gateway_url: context.gatewayUrl,
    ca_bundle_url: context.caBundleUrl,
    how_to_request_access: howToRequestAccess(context),
    resources: document.resources.map((r) => ({
      name: r.name,
      description: r.description,
      deprecated: r.status === 'deprecated',
      operations: operations
        .filter((o) => o.resource === r.name)
        .map((o) => ({ method: o.method, path: o.path })),
    })),
    operations,
    scopes: document.scopes.map((s) => ({
      name: s.name,
      version: s.version,
      description: s.description,
      deprecated: s.status === 'deprecated',
      roles: [...(holders.get(s.name) ?? [])],
    })),
    roles: document.roles.map((r) => ({
      name: r.name,
      description: r.description,
      deprecated: r.status === 'deprecated',
      scopes: [...r.scopes].sort(),
    })),
  };
  return { version: digest(content), ...content };
}
