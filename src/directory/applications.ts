import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import {
  canonicalTlsClientAuthValue,
  externalCaStore,
  TLS_CLIENT_AUTH_PROPERTIES,
  type TlsClientAuthProperty,
} from '../pki/index.ts';
import { AppError, conflict, invalidInput, isCodedError, notFound } from '../shared/app-error.ts';
import { normaliseName } from '../shared/names.ts';
import { type PageRequest, toPage } from '../shared/page-cursor.ts';
import { CHANGE_KINDS, type Database, keysetAfter, publishChange, type Tx } from '../storage/index.ts';
import { scopesForRoles } from './catalog.ts';
import type { ActionMeta } from './context.ts';
import { requireOrganisation } from './organisations.ts';
import { type RoleGrantView, roleGrants } from './role-grants.ts';
import { assertClientJwks, selfSignedCertificates } from './validate-client-jwks.ts';

// Shared secrets are deliberately absent: partners authenticate with keys or certificates only (RFC 8705, RFC 7523).
export const AUTH_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth', 'private_key_jwt'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
/**
 * A public client (RFC 6749 §2.1, `none`): registered by an operator only (admin API / CLI, never dynamic or
 * federation registration), for the authorization code grant only, PKCE S256 and DPoP-bound tokens always
 * (RFC 9449 §5: its refresh tokens are bound to the DPoP key), outside FAPI 2.0 (docs/dpop.md).
 */
export const PUBLIC_AUTH_METHOD = 'none';
/** What an operator may register: the confidential methods, and public clients. */
export const APPLICATION_AUTH_METHODS = [...AUTH_METHODS, PUBLIC_AUTH_METHOD] as const;
export type ApplicationAuthMethod = (typeof APPLICATION_AUTH_METHODS)[number];

export const APP_STATUSES = ['active', 'suspended', 'deleted'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

export interface CreateApplicationInput {
  orgId: string;
  name: string;
  roles: string[];
  authMethod: string;
  metadata?: Record<string, unknown> | undefined;
  registrationType?: 'manual' | 'dynamic' | 'federation';
  /** Only for registered clients: a federation client's client_id is its Entity Identifier (§12). */
  clientId?: string | undefined;
  /** sandbox | production (default production: operators', DCR and federation clients). */
  environment?: 'sandbox' | 'production' | undefined;
  /** Partner portal: the application may start with no role (its requested roles await an operator). */
  allowNoRoles?: boolean | undefined;
}

export interface ApplicationView {
  client_id: string;
  org_id: string;
  name: string;
  status: AppStatus;
  auth_method: ApplicationAuthMethod;
  registration_type: string;
  environment: 'sandbox' | 'production';
  /** The roles it holds now (grants not expired). */
  roles: string[];
  /** Every grant, expired ones marked: a time-bound grant shows as expired once its end date passed. */
  role_grants: RoleGrantView[];
  scopes: string[];
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

const MAX_METADATA_BYTES = 16 * 1024;

export function newClientId(): string {
  return `cl_${randomBytes(16).toString('base64url')}`;
}

/** The first RDN of a subject as the platform writes it (RFC 4514, `CN=<client_id>,…`), unescaped. */
function commonNameOf(subject: string): string | undefined {
  const match = /^CN=((?:[^,+\\]|\\.)+)(?:[,+]|$)/.exec(subject);
  return match?.[1]?.replace(/\\(.)/g, '$1');
}

/**
 * The applications whose platform-issued certificates a client may present besides its own (the documented
 * exception to "a certificate binds tokens for its own application only"): a dynamically registered client
 * authenticates with its software's certificate — the application its software statement names
 * (`software_id`) or, for tls_client_auth, the one whose certificate subject it registered. The token endpoint
 * and the gateway also require that application to be active and of the client's own organisation.
 */
export function certificateApplications(
  registrationType: string,
  metadata: Record<string, unknown>,
): string[] {
  if (registrationType !== 'dynamic') return [];
  // Matched through its organisation's own CA: no platform-issued certificate to borrow.
  if (typeof metadata.tls_client_auth_ca_id === 'string') return [];
  const out = new Set<string>();
  if (typeof metadata.software_id === 'string') out.add(metadata.software_id);
  const subject = metadata.tls_client_auth_subject_dn;
  const owner = typeof subject === 'string' ? commonNameOf(subject) : undefined;
  if (owner) out.add(owner);
  return [...out];
}

/**
 * Bring your own CA (RFC 8705 §2.1.2): a tls_client_auth client matched by a certificate its organisation's own
 * registered CA issued, by exactly one subject value: the subject DN or one subjectAltName. Named by
 * `tls_client_auth_ca_id`, by a SAN property, or by a subject DN on a manual registration (a dynamic client's
 * subject DN names its software's platform certificate unless a CA id says otherwise). Returns the metadata
 * with the value in canonical form and the CA id filled in (the organisation's only CA when not given).
 */
export async function resolveExternalCaClient(
  tx: Tx,
  orgId: string,
  authMethod: ApplicationAuthMethod,
  registrationType: string,
  metadata: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const present = TLS_CLIENT_AUTH_PROPERTIES.filter((p) => metadata[p] !== undefined);
  const caId = metadata.tls_client_auth_ca_id;
  const external =
    caId !== undefined ||
    present.some((p) => p !== 'tls_client_auth_subject_dn') ||
    (present.length > 0 && registrationType === 'manual');
  if (!external) return metadata;
  if (authMethod !== 'tls_client_auth') {
    throw invalidInput(
      `${present[0] ?? 'tls_client_auth_ca_id'} only applies to tls_client_auth (RFC 8705 §2.1.2)`,
      {
        field: `metadata.${present[0] ?? 'tls_client_auth_ca_id'}`,
      },
    );
  }
  // RFC 8705 §2.1.2: a tls_client_auth client MUST use exactly one of the subject value parameters.
  if (present.length !== 1) {
    throw invalidInput(
      `exactly one of ${TLS_CLIENT_AUTH_PROPERTIES.join(', ')} is required (RFC 8705 §2.1.2)`,
      {
        field: 'metadata',
      },
    );
  }
  const property = present[0] as TlsClientAuthProperty;
  const cas = await externalCaStore(tx.db).ofOrganisation(orgId);
  let ca: (typeof cas)[number] | undefined;
  if (caId !== undefined) {
    ca = cas.find((c) => c.id === caId);
    if (!ca) {
      throw invalidInput(`tls_client_auth_ca_id is not a CA registered by organisation ${orgId}`, {
        field: 'metadata.tls_client_auth_ca_id',
      });
    }
  } else if (cas.length === 1) {
    ca = cas[0];
  } else {
    throw invalidInput(
      cas.length === 0
        ? `organisation ${orgId} has no registered CA: register one before matching clients by ${property}`
        : `organisation ${orgId} has several CAs: name one in tls_client_auth_ca_id`,
      { field: 'metadata.tls_client_auth_ca_id' },
    );
  }
  let value: string;
  try {
    value = canonicalTlsClientAuthValue(property, metadata[property]);
  } catch (err) {
    if (isCodedError(err) && err.status === 400)
      throw invalidInput(err.message, { field: `metadata.${property}` });
    throw err;
  }
  return { ...metadata, [property]: value, tls_client_auth_ca_id: (ca as { id: string }).id };
}

/** Returns the x5t#S256 of the registered self-signed certificates (empty for other methods). */
const GRANT_TYPES = new Set(['client_credentials', 'authorization_code', 'refresh_token']);

/**
 * A manually registered client's grants (issue 14): client credentials, and the authorization code grant
 * (with refresh tokens) only with registered redirection URIs (RFC 6749 §3.1.2.2).
 */
export function validateManualGrants(metadata: Record<string, unknown>): void {
  const redirectUris = metadata.redirect_uris;
  // RFC 6749 §3.1.2.2: a client of the authorization code grant registers its redirection URIs.
  const grantTypes = metadata.grant_types;
  if (grantTypes !== undefined) {
    if (!Array.isArray(grantTypes) || !grantTypes.every((g) => GRANT_TYPES.has(g))) {
      throw invalidInput(`metadata.grant_types may hold only ${[...GRANT_TYPES].join(', ')}`, {
        field: 'metadata.grant_types',
      });
    }
    if (
      grantTypes.includes('authorization_code') &&
      !(Array.isArray(redirectUris) && redirectUris.length > 0)
    ) {
      throw invalidInput('the authorization_code grant needs metadata.redirect_uris (RFC 6749 §3.1.2.2)', {
        field: 'metadata.redirect_uris',
      });
    }
  }
}

/**
 * A public client (`none`): no credentials, so nothing it holds but a DPoP key can bind its tokens — the
 * authorization code grant only (client credentials would mint tokens for anyone knowing the client_id,
 * RFC 6749 §4.4 "MUST only be used by confidential clients"), DPoP-bound always (RFC 9449 §5), never FAPI
 * 2.0 (which admits confidential clients only), no keys (it authenticates with none).
 */
function validatePublicClient(metadata: Record<string, unknown>): void {
  const grantTypes = metadata.grant_types;
  if (!Array.isArray(grantTypes) || !grantTypes.includes('authorization_code')) {
    throw invalidInput(
      'a public client (auth method none) needs the authorization_code grant and redirect_uris',
      {
        field: 'metadata.grant_types',
      },
    );
  }
  if (grantTypes.includes('client_credentials')) {
    // RFC 6749 §4.4: the client credentials grant MUST only be used by confidential clients.
    throw invalidInput('a public client (auth method none) cannot use client_credentials (RFC 6749 §4.4)', {
      field: 'metadata.grant_types',
    });
  }
  if (metadata.dpop_bound_access_tokens === false) {
    throw invalidInput('a public client (auth method none) always has DPoP-bound tokens (RFC 9449 §5)', {
      field: 'metadata.dpop_bound_access_tokens',
    });
  }
  if (metadata.fapi_profile === '2.0') {
    throw invalidInput('FAPI 2.0 admits confidential clients only: a public client is outside the profile', {
      field: 'metadata.fapi_profile',
    });
  }
  for (const field of ['jwks', 'jwks_uri', 'tls_client_auth_ca_id'] as const) {
    if (metadata[field] !== undefined) {
      throw invalidInput(`a public client (auth method none) has no ${field}`, {
        field: `metadata.${field}`,
      });
    }
  }
}

export function validateMetadata(
  authMethod: ApplicationAuthMethod,
  metadata: Record<string, unknown>,
  now: Date,
): string[] {
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    throw invalidInput('metadata is larger than 16 KiB', { field: 'metadata' });
  }
  const { jwks, jwks_uri: jwksUri, redirect_uris: redirectUris } = metadata;
  // The rules dynamic registration applies (RFC 7591 §2, RFC 9700 §4.1): absolute https, no fragment,
  // matched exactly later — so a manually registered client is held to the same policy.
  if (redirectUris !== undefined) {
    const bad = !Array.isArray(redirectUris)
      ? [String(redirectUris)]
      : redirectUris.filter((u) => {
          if (typeof u !== 'string' || !URL.canParse(u)) return true;
          const url = new URL(u);
          return url.protocol !== 'https:' || url.hash !== '' || u.includes('#');
        });
    if (bad.length > 0) {
      throw invalidInput('metadata.redirect_uris must be absolute https URLs without a fragment', {
        field: 'metadata.redirect_uris',
        invalid: bad.map(String),
      });
    }
  }
  // FAPI 2.0 Security Profile for this client (docs/fapi.md): held to it, or exempt from the platform's profile.
  if (
    metadata.fapi_profile !== undefined &&
    metadata.fapi_profile !== '2.0' &&
    metadata.fapi_profile !== 'off'
  ) {
    throw invalidInput('metadata.fapi_profile must be "2.0" or "off"', { field: 'metadata.fapi_profile' });
  }
  // RFC 9449 §5.2: a boolean; true means every token request of the client carries a DPoP proof.
  if (
    metadata.dpop_bound_access_tokens !== undefined &&
    typeof metadata.dpop_bound_access_tokens !== 'boolean'
  ) {
    throw invalidInput('metadata.dpop_bound_access_tokens must be true or false (RFC 9449 §5.2)', {
      field: 'metadata.dpop_bound_access_tokens',
    });
  }
  if (jwks !== undefined && jwksUri !== undefined) {
    // RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
    throw invalidInput('metadata must not contain both jwks and jwks_uri (RFC 7591 §2)', {
      field: 'metadata.jwks',
    });
  }
  if (jwksUri !== undefined) {
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || new URL(jwksUri).protocol !== 'https:') {
      throw invalidInput('metadata.jwks_uri must be an https URL', { field: 'metadata.jwks_uri' });
    }
  }
  if (authMethod === PUBLIC_AUTH_METHOD) {
    validatePublicClient(metadata);
    return [];
  }
  if (jwks !== undefined) assertClientJwks(jwks);
  // Key-based methods need the client's public keys: RFC 7523 §2.2 (private_key_jwt), RFC 8705 §2.2 (self-signed).
  if (authMethod !== 'tls_client_auth' && jwks === undefined && jwksUri === undefined) {
    throw invalidInput(`${authMethod} needs the client's public keys in metadata.jwks or metadata.jwks_uri`, {
      field: 'metadata.jwks',
    });
  }
  if (authMethod !== 'self_signed_tls_client_auth') return [];
  // The gateway must recognise the certificate without fetching anything: inline jwks only.
  if (jwks === undefined) {
    throw invalidInput('self_signed_tls_client_auth needs the certificate inline in metadata.jwks (x5c)', {
      field: 'metadata.jwks',
    });
  }
  const { thumbprints, findings } = selfSignedCertificates(jwks, now);
  if (findings.length > 0) throw invalidInput('jwks is not acceptable', { field: 'jwks', findings });
  return thumbprints;
}

/**
 * Roles must exist and be approved for the organisation; a deprecated role is refused unless `held` already
 * holds it (deprecated: what has it keeps it, nobody new gets it). Returns them deduplicated and sorted.
 */
export async function checkRoles(
  tx: Tx,
  orgId: string,
  requested: readonly string[],
  held: readonly string[] = [],
): Promise<string[]> {
  const roles = [...new Set(requested)].sort();
  if (roles.length === 0) throw invalidInput('at least one role is required', { field: 'roles' });
  const defined = new Map(
    (await tx.db.selectFrom('roles').select(['name', 'status']).execute()).map((r) => [r.name, r.status]),
  );
  const unknown = roles.filter((r) => !defined.has(r));
  if (unknown.length > 0)
    throw invalidInput(`unknown role: ${unknown.join(', ')}`, { field: 'roles', unknown });
  const deprecated = roles.filter((r) => defined.get(r) === 'deprecated' && !held.includes(r));
  if (deprecated.length > 0) {
    throw new AppError('role_deprecated', 409, `role deprecated, no new grants: ${deprecated.join(', ')}`, {
      field: 'roles',
      deprecated,
    });
  }
  const allowed = new Set(
    (await tx.db.selectFrom('organisation_roles').select('role').where('org_id', '=', orgId).execute()).map(
      (r) => r.role,
    ),
  );
  const notApproved = roles.filter((r) => !allowed.has(r));
  if (notApproved.length > 0) {
    throw new AppError(
      'role_not_approved',
      403,
      `role not approved for organisation ${orgId}: ${notApproved.join(', ')}`,
      {
        field: 'roles',
        not_approved: notApproved,
      },
    );
  }
  return roles;
}

/**
 * RFC 8705 §2.2: a self-signed certificate is trusted only because one client registered it, so it belongs to
 * exactly one live client — a second client registering someone else's (public) certificate would otherwise
 * take over or lock out its owner at the gateway. The primary key settles concurrent registrations.
 */
async function pinSelfSignedCertificates(tx: Tx, clientId: string, thumbprints: string[], now: Date) {
  const unique = [...new Set(thumbprints)];
  const inUse = () =>
    invalidInput(
      'a certificate in jwks is already registered to another client (one client per self-signed certificate)',
      {
        field: 'jwks',
        reason: 'certificate_in_use',
      },
    );
  if (unique.length > 0) {
    const held = await tx.db
      .selectFrom('self_signed_pins')
      .select('client_id')
      .where('x5t_s256', 'in', unique)
      .where('client_id', '!=', clientId)
      .executeTakeFirst();
    if (held) throw inUse();
  }
  await tx.db.deleteFrom('self_signed_pins').where('client_id', '=', clientId).execute();
  for (const x5t of unique) {
    try {
      await tx.db
        .insertInto('self_signed_pins')
        .values({ x5t_s256: x5t, client_id: clientId, created_at: now.toISOString() })
        .execute();
    } catch (err) {
      // A concurrent registration pinned it first (unique violation on either engine).
      if (/unique|constraint|duplicate/i.test(String((err as Error).message))) throw inUse();
      throw err;
    }
  }
}

export async function createApplication(
  tx: Tx,
  input: CreateApplicationInput,
  meta: ActionMeta,
): Promise<string> {
  const org = await requireOrganisation(tx.db, input.orgId);
  if (org.status !== 'active')
    throw new AppError('organisation_not_active', 409, `organisation ${org.id} is ${org.status}`);
  const { name, key } = normaliseName('name', input.name);
  // Public clients are registered by an operator only: dynamic and federation registrations are confidential.
  const methods: readonly string[] =
    (input.registrationType ?? 'manual') === 'manual' ? APPLICATION_AUTH_METHODS : AUTH_METHODS;
  if (!methods.includes(input.authMethod)) {
    throw invalidInput(`auth method must be one of ${methods.join(', ')}`, { field: 'auth_method' });
  }
  const authMethod = input.authMethod as ApplicationAuthMethod;
  const selfSignedX5t = validateMetadata(authMethod, input.metadata ?? {}, meta.now);
  if ((input.registrationType ?? 'manual') === 'manual') validateManualGrants(input.metadata ?? {});
  const metadata = await resolveExternalCaClient(
    tx,
    org.id,
    authMethod,
    input.registrationType ?? 'manual',
    input.metadata ?? {},
  );

  const roles =
    input.allowNoRoles && input.roles.length === 0 ? [] : await checkRoles(tx, org.id, input.roles);

  const duplicate = await tx.db
    .selectFrom('applications')
    .select('client_id')
    .where('org_id', '=', org.id)
    .where('name_key', '=', key)
    .executeTakeFirst();
  if (duplicate) throw conflict(`organisation ${org.id} already has an application named "${name}"`);

  if (input.clientId !== undefined && (input.registrationType ?? 'manual') === 'manual') {
    throw invalidInput('a client_id is assigned by the platform for manual registrations', {
      field: 'client_id',
    });
  }
  const clientId = input.clientId ?? newClientId();
  const taken = await tx.db
    .selectFrom('applications')
    .select('client_id')
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (taken) throw conflict(`client ${clientId} is already registered`);
  const at = meta.now.toISOString();
  await tx.db
    .insertInto('applications')
    .values({
      client_id: clientId,
      org_id: org.id,
      name,
      name_key: key,
      status: 'active',
      auth_method: authMethod,
      registration_type: input.registrationType ?? 'manual',
      metadata: JSON.stringify(metadata),
      created_at: at,
      updated_at: at,
      environment: input.environment ?? 'production',
    })
    .execute();
  for (const role of roles) {
    await tx.db.insertInto('application_roles').values({ client_id: clientId, role }).execute();
  }
  await pinSelfSignedCertificates(tx, clientId, selfSignedX5t, meta.now);
  // Enforcement points learn new clients (and their self-signed certificates) from the feed, not by polling.
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appRegistered,
      entityId: clientId,
      payload: {
        org_id: org.id,
        status: 'active',
        auth_method: authMethod,
        registration_type: input.registrationType ?? 'manual',
        created: true,
        environment: await environmentOf(tx, clientId),
        self_signed_x5t: selfSignedX5t,
        certificate_apps: certificateApplications(input.registrationType ?? 'manual', metadata),
      },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.create',
      targetType: 'application',
      targetId: clientId,
      details: {
        org_id: org.id,
        name,
        roles,
        auth_method: authMethod,
        registration_type: input.registrationType ?? 'manual',
        environment: input.environment ?? 'production',
      },
    },
    meta.now,
  );
  return clientId;
}

export async function requireApplication(db: Kysely<Database> | Tx['db'], clientId: string) {
  const app = await db
    .selectFrom('applications')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!app || app.status === 'deleted') throw notFound('application', clientId);
  return app;
}

export async function getApplication(
  db: Kysely<Database> | Tx['db'],
  clientId: string,
  now: Date = new Date(),
): Promise<ApplicationView> {
  const app = await requireApplication(db, clientId);
  const grants = await roleGrants(db, [clientId], now);
  const roles = grants.filter((g) => !g.expired).map((g) => g.role);
  return {
    client_id: app.client_id,
    org_id: app.org_id,
    name: app.name,
    status: app.status,
    auth_method: app.auth_method,
    registration_type: app.registration_type,
    environment: app.environment ?? 'production',
    roles,
    role_grants: grants.map(({ role, expires_at, expired }) => ({ role, expires_at, expired })),
    scopes: await scopesForRoles(db, roles),
    metadata: JSON.parse(app.metadata) as Record<string, unknown>,
    created_at: app.created_at,
    updated_at: app.updated_at,
  };
}

export interface ApplicationFilter {
  orgId?: string | undefined;
  environment?: 'sandbox' | 'production' | undefined;
  status?: 'active' | 'suspended' | undefined;
  /** Names starting with this (case-insensitive). */
  namePrefix?: string | undefined;
}

const APPLICATION_LIST_COLUMNS = [
  'client_id',
  'org_id',
  'name',
  'status',
  'auth_method',
  'registration_type',
  'environment',
  'created_at',
] as const;

function filteredApplications(db: Kysely<Database>, filter: ApplicationFilter) {
  let q = db
    .selectFrom('applications')
    .select([...APPLICATION_LIST_COLUMNS])
    .where('status', '!=', 'deleted');
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.environment) q = q.where('environment', '=', filter.environment);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.namePrefix) {
    const key = filter.namePrefix.normalize('NFC').trimStart().replace(/\s+/g, ' ').toLocaleLowerCase('en');
    q = q.where(sql<boolean>`name_key LIKE ${`${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'`);
  }
  return q;
}

async function withGrants(
  db: Kysely<Database>,
  apps: Array<Selection<typeof APPLICATION_LIST_COLUMNS>>,
  clientIds: readonly string[] | undefined,
  now: Date,
) {
  const byClient = new Map<string, Array<RoleGrantView & { client_id: string }>>();
  for (const g of await roleGrants(db, clientIds, now)) {
    const own = byClient.get(g.client_id);
    if (own) own.push(g);
    else byClient.set(g.client_id, [g]);
  }
  return apps.map((a) => {
    const own = byClient.get(a.client_id) ?? [];
    return {
      ...a,
      environment: a.environment ?? 'production',
      roles: own.filter((g) => !g.expired).map((g) => g.role),
      role_grants: own.map(({ role, expires_at, expired }) => ({ role, expires_at, expired })),
    };
  });
}

type Selection<C extends readonly string[]> = {
  [K in C[number]]: K extends keyof Database['applications'] ? Database['applications'][K] : never;
};

/** Every application (ordered by organisation and name): for overviews that need the whole directory. */
export async function listApplications(
  db: Kysely<Database>,
  filter: ApplicationFilter = {},
  now: Date = new Date(),
) {
  const apps = await filteredApplications(db, filter).orderBy('org_id').orderBy('name_key').execute();
  return withGrants(
    db,
    apps,
    filter.orgId || apps.length <= 500 ? apps.map((a) => a.client_id) : undefined,
    now,
  );
}

/** The sort key of an application page: oldest first, ties by client_id (renames never move a row). */
export const APPLICATION_PAGE_KEY = ['created_at', 'client_id'] as const;

/** One page of applications, keyset-paged by (created_at, client_id) after `page.after`. */
export async function listApplicationsPage(
  db: Kysely<Database>,
  filter: ApplicationFilter,
  page: PageRequest,
  now: Date = new Date(),
) {
  let q = filteredApplications(db, filter);
  if (page.after) {
    const after = page.after;
    q = q.where((eb) => keysetAfter(eb, APPLICATION_PAGE_KEY, after));
  }
  const rows = await q
    .orderBy('created_at')
    .orderBy('client_id')
    .limit(page.limit + 1)
    .execute();
  const { items, next_cursor } = toPage(rows, page.limit, (a) => [a.created_at, a.client_id]);
  return {
    items: await withGrants(
      db,
      items,
      items.map((a) => a.client_id),
      now,
    ),
    next_cursor,
  };
}

export async function setApplicationStatus(
  tx: Tx,
  clientId: string,
  status: 'active' | 'suspended',
  meta: ActionMeta & { reason?: string | undefined },
): Promise<{ changed: boolean }> {
  const app = await requireApplication(tx.db, clientId);
  if (app.status === status) return { changed: false };
  if (status === 'active') {
    const org = await requireOrganisation(tx.db, app.org_id);
    if (org.status !== 'active') {
      throw new AppError('organisation_not_active', 409, `organisation ${org.id} is ${org.status}`);
    }
  }
  await tx.db
    .updateTable('applications')
    .set({ status, updated_at: meta.now.toISOString() })
    .where('client_id', '=', clientId)
    .execute();
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appStatus,
      entityId: clientId,
      payload: { status, org_id: app.org_id, registration_type: app.registration_type },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: status === 'active' ? 'application.activate' : 'application.suspend',
      targetType: 'application',
      targetId: clientId,
      details: { from: app.status, to: status, ...(meta.reason ? { reason: meta.reason } : {}) },
    },
    meta.now,
  );
  return { changed: true };
}

/** Offboarding: every active client of the organisation is suspended, each with its own change and audit entry. */
export async function suspendApplicationsOfOrganisation(
  tx: Tx,
  orgId: string,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<number> {
  const apps = await tx.db
    .selectFrom('applications')
    .select('client_id')
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .execute();
  for (const app of apps) await setApplicationStatus(tx, app.client_id, 'suspended', meta);
  return apps.length;
}

export interface UpdateRegistrationInput {
  authMethod: string;
  metadata: Record<string, unknown>;
  roles: string[];
}

/**
 * A registered (federation or dynamic) client's keys, metadata or roles changed at its source: the record
 * is updated in place, reactivated if it had been deregistered, and enforcement points learn the new keys.
 * A client an operator suspended stays suspended: registering again is not a way around the suspension.
 */
export async function updateRegisteredApplication(
  tx: Tx,
  clientId: string,
  input: UpdateRegistrationInput,
  meta: ActionMeta,
): Promise<{ changed: boolean }> {
  const app = await tx.db
    .selectFrom('applications')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!app) throw notFound('application', clientId);
  if (app.registration_type === 'manual') {
    throw new AppError('not_registered_client', 409, `application ${clientId} is managed manually`);
  }
  const org = await requireOrganisation(tx.db, app.org_id);
  if (org.status !== 'active')
    throw new AppError('organisation_not_active', 409, `organisation ${org.id} is ${org.status}`);
  if (!(AUTH_METHODS as readonly string[]).includes(input.authMethod)) {
    throw invalidInput(`auth method must be one of ${AUTH_METHODS.join(', ')}`, { field: 'auth_method' });
  }
  const authMethod = input.authMethod as AuthMethod;
  const selfSignedX5t = validateMetadata(authMethod, input.metadata, meta.now);
  const currentGrants = await tx.db
    .selectFrom('application_roles')
    .select(['role', 'expires_at'])
    .where('client_id', '=', clientId)
    .orderBy('role')
    .execute();
  const currentRoles = currentGrants.map((r) => r.role);
  const roles = await checkRoles(tx, org.id, input.roles, currentRoles);
  const resolved = await resolveExternalCaClient(
    tx,
    org.id,
    authMethod,
    app.registration_type,
    input.metadata,
  );
  const metadata = JSON.stringify(resolved);
  const status = app.status === 'suspended' ? 'suspended' : 'active';
  const changed =
    app.status !== status ||
    app.auth_method !== authMethod ||
    app.metadata !== metadata ||
    currentRoles.join(' ') !== roles.join(' ');
  if (!changed) return { changed: false };
  await pinSelfSignedCertificates(tx, clientId, selfSignedX5t, meta.now);
  await tx.db
    .updateTable('applications')
    .set({ status, auth_method: authMethod, metadata, updated_at: meta.now.toISOString() })
    .where('client_id', '=', clientId)
    .execute();
  await tx.db.deleteFrom('application_roles').where('client_id', '=', clientId).execute();
  // A role the registration keeps keeps its grant's end: re-registering must not make a time-bound grant
  // open-ended (nor renew an expired one).
  const ends = new Map(currentGrants.map((g) => [g.role, g.expires_at ?? null]));
  for (const role of roles) {
    await tx.db
      .insertInto('application_roles')
      .values({ client_id: clientId, role, expires_at: ends.get(role) ?? null })
      .execute();
  }
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appRegistered,
      entityId: clientId,
      payload: {
        org_id: org.id,
        status,
        auth_method: authMethod,
        registration_type: app.registration_type,
        created: false,
        environment: await environmentOf(tx, clientId),
        self_signed_x5t: selfSignedX5t,
        certificate_apps: certificateApplications(app.registration_type, resolved),
      },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.update_registration',
      targetType: 'application',
      targetId: clientId,
      details: {
        from_status: app.status,
        status,
        roles,
        auth_method: authMethod,
        registration_type: app.registration_type,
      },
    },
    meta.now,
  );
  return { changed: true };
}

/** A registered client whose registration ended (chain broken, subordinate removed): gone at once everywhere. */
export async function deregisterApplication(
  tx: Tx,
  clientId: string,
  meta: ActionMeta & { reason: string },
): Promise<{ changed: boolean }> {
  const app = await tx.db
    .selectFrom('applications')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!app) throw notFound('application', clientId);
  if (app.status === 'deleted') return { changed: false };
  if (app.status === 'suspended') {
    // An operator's suspension outlives the registration: ending it must not turn the client into a deleted
    // one that a new registration would bring back as active. It stays suspended (refused everywhere) until
    // an operator decides otherwise.
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'application.deregister',
        targetType: 'application',
        targetId: clientId,
        details: {
          from: app.status,
          to: app.status,
          registration_type: app.registration_type,
          reason: meta.reason,
        },
      },
      meta.now,
    );
    return { changed: false };
  }
  await tx.db
    .updateTable('applications')
    .set({ status: 'deleted', updated_at: meta.now.toISOString() })
    .where('client_id', '=', clientId)
    .execute();
  // A deleted client holds no certificate: another client may register it afterwards.
  await tx.db.deleteFrom('self_signed_pins').where('client_id', '=', clientId).execute();
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.appStatus,
      entityId: clientId,
      payload: { status: 'deleted', org_id: app.org_id, registration_type: app.registration_type },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.deregister',
      targetType: 'application',
      targetId: clientId,
      details: { from: app.status, registration_type: app.registration_type, reason: meta.reason },
    },
    meta.now,
  );
  return { changed: true };
}

/** sandbox | production as stored (issue 15): enforcement points forward it upstream (x-accredit-environment). */
async function environmentOf(tx: Tx, clientId: string): Promise<string> {
  const row = await tx.db
    .selectFrom('applications')
    .select('environment')
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row?.environment ?? 'production';
}

/**
 * A partner renames its application or changes its redirection URIs (partner portal). The same rules as at
 * creation: names unique within the organisation, redirect URIs absolute https without fragment.
 */
export async function updateApplicationProfile(
  tx: Tx,
  clientId: string,
  input: { name?: string | undefined; redirectUris?: string[] | undefined },
  meta: ActionMeta,
): Promise<{ changed: boolean }> {
  const app = await requireApplication(tx.db, clientId);
  const set: { name?: string; name_key?: string; metadata?: string } = {};
  if (input.name !== undefined) {
    const { name, key } = normaliseName('name', input.name);
    if (key !== app.name_key) {
      const duplicate = await tx.db
        .selectFrom('applications')
        .select('client_id')
        .where('org_id', '=', app.org_id)
        .where('name_key', '=', key)
        .where('client_id', '!=', clientId)
        .executeTakeFirst();
      if (duplicate) throw conflict(`organisation ${app.org_id} already has an application named "${name}"`);
    }
    if (name !== app.name) Object.assign(set, { name, name_key: key });
  }
  if (input.redirectUris !== undefined) {
    const current = JSON.parse(app.metadata) as Record<string, unknown>;
    const next: Record<string, unknown> = { ...current, redirect_uris: input.redirectUris };
    if (input.redirectUris.length === 0) delete next.redirect_uris;
    validateMetadata(app.auth_method, next, meta.now);
    validateManualGrants(next);
    const text = JSON.stringify(next);
    if (text !== app.metadata) set.metadata = text;
  }
  if (Object.keys(set).length === 0) return { changed: false };
  await tx.db
    .updateTable('applications')
    .set({ ...set, updated_at: meta.now.toISOString() })
    .where('client_id', '=', clientId)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'application.update',
      targetType: 'application',
      targetId: clientId,
      details: {
        ...(set.name ? { name: set.name } : {}),
        ...(set.metadata ? { redirect_uris: input.redirectUris } : {}),
      },
    },
    meta.now,
  );
  return { changed: true };
}
