import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, invalidInput, notFound } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../storage/index.ts';
import type { AuthMethod } from './applications.ts';
import { scopesForRoles } from './catalog.ts';
import type { ActionMeta } from './context.ts';
import { lockOrganisationOfApplication } from './directory-store.ts';
import { liveRoles } from './role-grants.ts';

type AnyDb = Kysely<Database> | Tx['db'];
type StatementRow = Database['software_statements'];

/** The directory's issuer identifier is `<publicUrl>/directory`; its keys are published at `<issuer>/jwks`. */
export const DIRECTORY_PATH = '/directory';
export const DIRECTORY_JWKS_PATH = '/directory/jwks';
export const directoryIssuer = (publicUrl: string): string =>
  `${publicUrl.replace(/\/+$/, '')}${DIRECTORY_PATH}`;

/** Statements are short-lived: they are meant to be used for one registration right after they are issued. */
export const SOFTWARE_STATEMENT_LIFETIME = { default: 300, min: 60, max: 3600 } as const;

/** RFC 7591 §2.3: the claims of a Software Statement Assertion, as the directory issues them. */
export interface SoftwareStatementClaims {
  iss: string;
  iat: number;
  exp: number;
  jti: string;
  software_id: string;
  org_id: string;
  roles: string[];
  scope: string;
  client_name: string;
  token_endpoint_auth_method: AuthMethod;
  grant_types: string[];
  redirect_uris?: string[];
  jwks?: { keys: Array<Record<string, unknown>> };
  jwks_uri?: string;
  tls_client_auth_subject_dn?: string;
  /** FAPI 2.0 Security Profile the operator set on the software (docs/fapi.md); its clients inherit it. */
  fapi_profile?: '2.0' | 'off';
}

/** Signs a statement as a compact JWS with header `{ alg, kid, typ: 'JWT' }`. */
export interface SoftwareStatementSigner {
  readonly kid: string;
  readonly alg: string;
  sign(claims: SoftwareStatementClaims): Promise<string>;
}

export interface IssueSoftwareStatementInput {
  /** The client_id of a manually registered directory application: the "software". */
  softwareId: string;
  /** The `iss` claim: directoryIssuer(publicUrl). */
  issuer: string;
  signer: SoftwareStatementSigner;
  lifetimeSeconds?: number | undefined;
  /**
   * The exact RFC 4514 subject of the newest active certificate the platform issued to the application: the
   * PKI's answer (its certificates are its own), read in the caller's transaction.
   */
  certificateSubject: (clientId: string) => Promise<string | undefined>;
}

export interface IssuedSoftwareStatement {
  software_statement: string;
  jti: string;
  software_id: string;
  org_id: string;
  expires_at: string;
}

/** A statement as recorded; the JWT itself is never stored nor listed. */
export interface SoftwareStatementView {
  jti: string;
  software_id: string;
  org_id: string;
  issued_at: string;
  expires_at: string;
  status: StatementRow['status'];
  used_at: string | null;
  used_by_client_id: string | null;
}

const view = (row: StatementRow): SoftwareStatementView => ({
  jti: row.jti,
  software_id: row.software_id,
  org_id: row.org_id,
  issued_at: row.issued_at,
  expires_at: row.expires_at,
  status: row.status,
  used_at: row.used_at,
  used_by_client_id: row.used_by_client_id,
});

function lifetimeOf(value: number | undefined): number {
  const lifetime = value ?? SOFTWARE_STATEMENT_LIFETIME.default;
  const { min, max } = SOFTWARE_STATEMENT_LIFETIME;
  if (!Number.isInteger(lifetime) || lifetime < min || lifetime > max) {
    throw invalidInput(`lifetime_seconds must be an integer from ${min} to ${max}`, {
      field: 'lifetime_seconds',
    });
  }
  return lifetime;
}

/**
 * The redirection URIs the statement fixes. Registration requires https URIs matching the statement exactly,
 * so a statement carrying anything else could never be used: refuse it here, naming the URI.
 */
function redirectUrisOf(softwareId: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new AppError(
      'unusable_software_metadata',
      409,
      `application ${softwareId} has metadata.redirect_uris that is not an array of URIs`,
      { field: 'metadata.redirect_uris' },
    );
  }
  const uris: unknown[] = value;
  for (const uri of uris) {
    // RFC 6749 §3.1.2: absolute, no fragment; https as the registration policy demands.
    const ok = typeof uri === 'string' && URL.canParse(uri) && !uri.includes('#');
    if (!ok || new URL(uri).protocol !== 'https:') {
      throw new AppError(
        'unusable_software_metadata',
        409,
        `application ${softwareId} has a redirect URI that is not an absolute https URI without fragment: ${JSON.stringify(uri)}`,
        { field: 'metadata.redirect_uris' },
      );
    }
  }
  return uris.length > 0 ? (uris as string[]) : undefined;
}

async function loadSoftware(tx: Tx, softwareId: string) {
  // PostgreSQL: hold the organisation row so that a concurrent suspension is ordered before or after this one.
  await lockOrganisationOfApplication(tx, softwareId);
  const app = await tx.db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.org_id')
    .select([
      'applications.client_id',
      'applications.org_id',
      'applications.name',
      'applications.status',
      'applications.auth_method',
      'applications.registration_type',
      'applications.metadata',
      'organisations.status as org_status',
    ])
    .where('applications.client_id', '=', softwareId)
    .executeTakeFirst();
  if (!app || app.status === 'deleted') throw notFound('application', softwareId);
  if (app.org_status !== 'active') {
    throw new AppError('organisation_not_active', 409, `organisation ${app.org_id} is ${app.org_status}`);
  }
  if (app.status !== 'active') {
    throw new AppError('application_not_active', 409, `application ${app.client_id} is ${app.status}`);
  }
  // A registered client's roles came from a statement or a trust chain: it cannot vouch for other software.
  if (app.registration_type !== 'manual') {
    throw new AppError(
      'not_software',
      409,
      `application ${app.client_id} was registered by ${app.registration_type} registration; software statements describe manually registered applications only`,
    );
  }
  return app;
}

/**
 * Issues a Software Statement Assertion (RFC 7591 §2.3) for a directory application: the roles, keys,
 * redirection URIs and certificate identity a client registered with it may have at most. Recorded as
 * `issued` (each is accepted once, by jti) and audited without the JWT, in the caller's transaction.
 */
export async function issueSoftwareStatement(
  tx: Tx,
  input: IssueSoftwareStatementInput,
  meta: ActionMeta,
): Promise<IssuedSoftwareStatement> {
  const lifetime = lifetimeOf(input.lifetimeSeconds);
  const app = await loadSoftware(tx, input.softwareId);
  // Dynamic registration is for confidential clients only (docs/dpop.md): a public client is registered by an
  // operator, so its application vouches for no software.
  if (app.auth_method === 'none') {
    throw new AppError(
      'public_client',
      409,
      `application ${app.client_id} is a public client (auth method none): dynamic registration is for confidential clients only`,
    );
  }
  const authMethod: AuthMethod = app.auth_method;
  const metadata = JSON.parse(app.metadata) as Record<string, unknown>;
  const roles = await liveRoles(tx.db, app.client_id, meta.now);
  const scopes = await scopesForRoles(tx.db, roles);
  const redirectUris = redirectUrisOf(app.client_id, metadata.redirect_uris);

  let subjectDn: string | undefined;
  if (app.auth_method === 'tls_client_auth') {
    subjectDn = await input.certificateSubject(app.client_id);
    if (subjectDn === undefined) {
      throw new AppError(
        'no_client_certificate',
        409,
        `application ${app.client_id} authenticates with tls_client_auth but has no active certificate issued by the platform: issue one first (accredit cert issue)`,
      );
    }
  }

  const iat = Math.floor(meta.now.getTime() / 1000);
  const exp = iat + lifetime;
  // 128 bits of randomness: unguessable and, for the one-use check, unique. Hex, so it never starts with "-"
  // (a base64url jti did one time in 64, and `accredit ssa revoke -Xy…` read it as an option).
  const jti = randomBytes(16).toString('hex');
  const claims: SoftwareStatementClaims = {
    iss: input.issuer,
    iat,
    exp,
    jti,
    software_id: app.client_id,
    org_id: app.org_id,
    roles,
    scope: scopes.join(' '),
    client_name: app.name,
    token_endpoint_auth_method: authMethod,
    grant_types: redirectUris ? ['client_credentials', 'authorization_code'] : ['client_credentials'],
    ...(redirectUris ? { redirect_uris: redirectUris } : {}),
    ...(metadata.jwks !== undefined ? { jwks: metadata.jwks as SoftwareStatementClaims['jwks'] } : {}),
    ...(typeof metadata.jwks_uri === 'string' ? { jwks_uri: metadata.jwks_uri } : {}),
    ...(subjectDn !== undefined ? { tls_client_auth_subject_dn: subjectDn } : {}),
    ...(metadata.fapi_profile === '2.0' || metadata.fapi_profile === 'off'
      ? { fapi_profile: metadata.fapi_profile }
      : {}),
  };
  const softwareStatement = await input.signer.sign(claims);

  const issuedAt = new Date(iat * 1000).toISOString();
  const expiresAt = new Date(exp * 1000).toISOString();
  await tx.db
    .insertInto('software_statements')
    .values({
      jti,
      software_id: app.client_id,
      org_id: app.org_id,
      issued_at: issuedAt,
      expires_at: expiresAt,
      status: 'issued',
      used_at: null,
      used_by_client_id: null,
      created_at: meta.now.toISOString(),
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'software_statement.issue',
      targetType: 'software_statement',
      targetId: jti,
      details: {
        software_id: app.client_id,
        org_id: app.org_id,
        roles,
        kid: input.signer.kid,
        expires_at: expiresAt,
        ...(subjectDn !== undefined ? { tls_client_auth_subject_dn: subjectDn } : {}),
      },
    },
    meta.now,
  );
  return {
    software_statement: softwareStatement,
    jti,
    software_id: app.client_id,
    org_id: app.org_id,
    expires_at: expiresAt,
  };
}

export async function getSoftwareStatement(db: AnyDb, jti: string): Promise<SoftwareStatementView> {
  const row = await db
    .selectFrom('software_statements')
    .selectAll()
    .where('jti', '=', jti)
    .executeTakeFirst();
  if (!row) throw notFound('software statement', jti);
  return view(row);
}

/** Newest first; never the JWTs, which are not stored. */
export async function listSoftwareStatements(
  db: AnyDb,
  filter: { softwareId?: string | undefined } = {},
): Promise<SoftwareStatementView[]> {
  // created_at has milliseconds where issued_at (the JWT's iat) has whole seconds.
  let q = db.selectFrom('software_statements').selectAll().orderBy('created_at', 'desc').orderBy('jti');
  if (filter.softwareId) q = q.where('software_id', '=', filter.softwareId);
  return (await q.execute()).map(view);
}

/** Statement pages: newest first by (created_at, jti). */
export const SOFTWARE_STATEMENT_PAGE_KEY_LENGTH = 2;

export interface SoftwareStatementFilter {
  orgId?: string | undefined;
  softwareId?: string | undefined;
  /** issued, used, revoked as recorded; `expired`: issued, never used, and past its expiry. */
  status?: StatementRow['status'] | 'expired' | undefined;
}

/** One page of statement records, keyset-paged newest first by (created_at, jti) after `page.after`. */
export async function listSoftwareStatementsPage(
  db: AnyDb,
  filter: SoftwareStatementFilter,
  page: PageRequest,
  now: Date,
): Promise<Page<SoftwareStatementView>> {
  let q = db.selectFrom('software_statements').selectAll();
  if (filter.orgId !== undefined) q = q.where('org_id', '=', filter.orgId);
  if (filter.softwareId !== undefined) q = q.where('software_id', '=', filter.softwareId);
  if (filter.status === 'expired') {
    q = q.where('status', '=', 'issued').where('expires_at', '<=', now.toISOString());
  } else if (filter.status !== undefined) {
    q = q.where('status', '=', filter.status);
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'jti'], after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('jti', 'desc')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.jti]);
  return { items: paged.items.map(view), next_cursor: paged.next_cursor };
}

/**
 * Withdraws a statement not yet used: registration refuses it from now on. A used statement already made its
 * client; that client is suspended or deleted instead, so revoking it is refused rather than silently ignored.
 */
export async function revokeSoftwareStatement(
  tx: Tx,
  jti: string,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<{ changed: boolean; statement: SoftwareStatementView }> {
  const row = await tx.db
    .selectFrom('software_statements')
    .selectAll()
    .where('jti', '=', jti)
    .executeTakeFirst();
  if (!row) throw notFound('software statement', jti);
  if (row.status === 'revoked') return { changed: false, statement: view(row) };
  if (row.status === 'used') {
    throw new AppError(
      'statement_used',
      409,
      `software statement ${jti} was already used to register client ${row.used_by_client_id ?? '(unknown)'}; suspend or delete that client instead`,
    );
  }
  // Conditional on `issued`: a registration consuming it concurrently either wins or sees it revoked.
  const updated = await tx.db
    .updateTable('software_statements')
    .set({ status: 'revoked' })
    .where('jti', '=', jti)
    .where('status', '=', 'issued')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) {
    throw new AppError('statement_used', 409, `software statement ${jti} was used meanwhile`);
  }
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'software_statement.revoke',
      targetType: 'software_statement',
      targetId: jti,
      details: {
        software_id: row.software_id,
        org_id: row.org_id,
        ...(meta.reason ? { reason: meta.reason } : {}),
      },
    },
    meta.now,
  );
  return { changed: true, statement: { ...view(row), status: 'revoked' } };
}

/**
 * The directory's published verification keys (public halves only): active software-statement keys and retired
 * ones for as long as a statement they signed can live; never revoked ones. Registration verifies against these.
 */
export async function publishedSoftwareStatementJwks(
  db: AnyDb,
  now: Date,
): Promise<{ keys: Array<Record<string, unknown>> }> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'public_jwk', 'status', 'retired_at'])
    .where('purpose', '=', 'software_statement')
    .orderBy('created_at', 'desc')
    .orderBy('kid')
    .execute();
  const overlapMs = SOFTWARE_STATEMENT_LIFETIME.max * 1000;
  const published = rows.filter(
    (r) =>
      r.status === 'active' ||
      (r.status === 'retired' &&
        r.retired_at != null &&
        new Date(r.retired_at).getTime() + overlapMs > now.getTime()),
  );
  return {
    keys: published.map((r) => {
      const { kty, crv, x, y, n, e } = JSON.parse(r.public_jwk) as Record<string, unknown>;
      // Only public members, whatever the stored JWK holds.
      const pub = Object.fromEntries(
        Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
      );
      return { ...pub, kid: r.kid, alg: r.alg, use: 'sig' };
    }),
  };
}
