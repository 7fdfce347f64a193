import { randomBytes } from 'node:crypto';
import { recordAuditEvent } from '../../audit/index.ts';
import {
  claimSoftwareStatement,
  createApplication,
  directoryStore,
  getApplication,
  recordSoftwareStatementClient,
} from '../../directory/index.ts';
import { isCodedError } from '../../shared/app-error.ts';
import { normaliseName } from '../../shared/names.ts';
import type { Tx } from '../../storage/index.ts';
import { claimInitialAccessToken, type InitialAccessTokenGrant } from './check-initial-access-token.ts';
import { checkStatementUnused } from './check-statement-approval.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { loadPolicyContext } from './policy-context.ts';
import { approveAuthority, type RegistrationAuthority } from './registration-authority.ts';
import {
  invalidStatement,
  policyRefused,
  REGISTRATION_ERRORS,
  RegistrationError,
  type RegistrationFinding,
  unapprovedStatement,
} from './registration-error.ts';
import { evaluateRegistrationPolicy, type RegisteredClient } from './registration-policy/index.ts';
import { newRegistrationAccessToken } from './registration-token.ts';
import { type SoftwareStatement, verifySoftwareStatement } from './verify-software-statement.ts';

/** The platform's client_id format (`cl_` + 128 random bits), chosen here so the name can be qualified with it. */
const newDynamicClientId = () => `cl_${randomBytes(16).toString('base64url')}`;

/**
 * RFC 7591 §2.3: each statement registers one client. The jti goes from issued to used in the transaction
 * that creates the client (a concurrent second use finds it used and the whole registration rolls back).
 */
async function claimStatement(tx: Tx, statement: SoftwareStatement, now: Date): Promise<void> {
  if (await claimSoftwareStatement(tx, statement.jti, now)) return;
  const row = await directoryStore(tx.db).softwareStatement(statement.jti);
  if (row?.status === 'used') throw invalidStatement('software_statement has already been used (jti)');
  throw unapprovedStatement('software_statement is no longer approved');
}

/**
 * The client's name (the statement's, else the request's, else its client_id) unless another application of
 * the organisation has it (the software itself usually does), then qualified by the new client_id: the name is
 * for people, the client_id identifies.
 */
async function availableName(
  tx: Tx,
  orgId: string,
  clientId: string,
  wanted: string,
  qualify: boolean,
): Promise<string> {
  const suffix = ` (${clientId})`;
  const qualified = `${wanted.slice(0, 200 - suffix.length)}${suffix}`;
  const candidates = qualify ? [qualified] : [wanted.slice(0, 200), qualified];
  for (const candidate of candidates) {
    const { name, key } = normaliseName('client_name', candidate);
    const taken = await directoryStore(tx.db).applicationNameTaken(orgId, key);
    if (!taken) return name;
  }
  return clientId;
}

/**
 * The directory's own metadata validation (keys, sizes) is a client metadata problem of the request. An
 * organisation or role that changed between the policy's read and the transaction withdraws the approval:
 * the statement's when there is one, otherwise the organisation's own (a client metadata problem too).
 */
export function asRegistrationError(err: unknown, authority: RegistrationAuthority): unknown {
  if (!isCodedError(err)) return err;
  if (err.code === 'invalid_input') {
    const details = err.details ?? {};
    const nested = Array.isArray(details.findings)
      ? (details.findings as Array<{ field: string; message: string }>)
      : [];
    const findings: RegistrationFinding[] =
      nested.length > 0
        ? nested.map((f) => ({
            field: f.field,
            code: 'invalid_client_metadata',
            reason: f.message,
            spec: 'RFC 7591 §2',
          }))
        : [
            {
              field:
                typeof details.field === 'string' ? details.field.replace(/^metadata\./, '') : 'metadata',
              code: 'invalid_client_metadata',
              reason: err.message,
              spec: 'RFC 7591 §2',
            },
          ];
    return policyRefused(findings);
  }
  if (err.code === 'organisation_not_active' || err.code === 'role_not_approved') {
    return authority.statement
      ? unapprovedStatement(err.message)
      : new RegistrationError(REGISTRATION_ERRORS.invalidClientMetadata, 400, err.message);
  }
  // A name (or client_id) taken again by a concurrent registration after the retry: refused, not a 500.
  if (err.code === 'conflict') {
    return new RegistrationError(REGISTRATION_ERRORS.invalidClientMetadata, 400, err.message);
  }
  return err;
}

/**
 * A concurrent registration created an application with the same name (or client_id) between availableName's
 * read and the insert: the directory's own check (`conflict`) or, when both inserted at once, the unique
 * constraint (PostgreSQL 23505; SQLite has a single writer and never gets here). The transaction rolled back,
 * the statement and the token use with it, so the registration can simply run again.
 */
function isUniquenessRace(err: unknown): boolean {
  if (isCodedError(err)) return err.code === 'conflict';
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '23505' || /UNIQUE constraint failed/i.test(String(e?.message ?? ''));
}

/** Who registers: the software the statement describes, else the holder of the initial access token. */
const actorOf = (authority: RegistrationAuthority): string =>
  authority.statement
    ? `software:${authority.statement.softwareId}`
    : `initial_access_token:${authority.initialAccessToken?.id}`;

/**
 * One transaction: a use of the initial access token and the statement are claimed, the client exists with its
 * roles, its registration (naming what it rests on) and its audit entry.
 */
async function createDynamicClient(
  tx: Tx,
  authority: RegistrationAuthority,
  orgId: string,
  registered: RegisteredClient,
  tokenHash: string,
  now: Date,
  qualifyName: boolean,
): Promise<string> {
  const { statement, initialAccessToken } = authority;
  // The token first: its row lock orders concurrent registrations with its last use before anything else.
  if (initialAccessToken) await claimInitialAccessToken(tx, initialAccessToken, now);
  if (statement) await claimStatement(tx, statement, now);
  const clientId = newDynamicClientId();
  const actor = actorOf(authority);
  await createApplication(
    tx,
    {
      orgId,
      name: await availableName(tx, orgId, clientId, registered.clientName ?? clientId, qualifyName),
      roles: registered.roles,
      authMethod: registered.authMethod,
      metadata: registered.metadata,
      registrationType: 'dynamic',
      clientId,
    },
    { actor, now },
  );
  if (statement) {
    await recordSoftwareStatementClient(tx, statement.jti, clientId);
  }
  const at = now.toISOString();
  await tx.db
    .insertInto('dynamic_registrations')
    .values({
      client_id: clientId,
      org_id: orgId,
      software_id: statement?.softwareId ?? null,
      ssa_jti: statement?.jti ?? null,
      iat_id: initialAccessToken?.id ?? null,
      registration_token_hash: tokenHash,
      token_rotated_at: at,
      status: 'active',
      created_at: at,
      updated_at: at,
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor,
      action: 'dynamic_registration.register',
      targetType: 'application',
      targetId: clientId,
      details: {
        org_id: orgId,
        ...(statement ? { software_id: statement.softwareId, ssa_jti: statement.jti } : {}),
        ...(initialAccessToken ? { iat_id: initialAccessToken.id } : {}),
        roles: registered.roles,
        scope: registered.scopes.join(' '),
        auth_method: registered.authMethod,
      },
    },
    now,
  );
  return clientId;
}

/**
 * The software statement, verified and unused, when the request carries one; otherwise the initial access
 * token alone, when one was presented (and the operator allows them). Neither: invalid_software_statement.
 */
async function readAuthority(
  options: DynamicRegistrationOptions,
  body: Record<string, unknown>,
  initialAccessToken: InitialAccessTokenGrant | undefined,
  now: Date,
): Promise<RegistrationAuthority> {
  if (body.software_statement === undefined && initialAccessToken) {
    return { statement: undefined, initialAccessToken };
  }
  if (body.software_statement === undefined && options.allowInitialAccessTokens) {
    throw invalidStatement(
      'a software_statement issued by the directory, or an initial access token (Authorization: Bearer), is required',
    );
  }
  const statement = await verifySoftwareStatement(body.software_statement, {
    db: options.storage.db,
    issuer: options.statementIssuer,
    now,
    maxAgeSeconds: options.softwareStatementMaxAgeSeconds,
    skewSeconds: options.skewSeconds,
  });
  await checkStatementUnused(options.storage.db, statement);
  return { statement, initialAccessToken };
}

/**
 * The registration endpoint (RFC 7591 §3): verify the software statement and check it is unused, or take the
 * initial access token already authenticated, check the organisation (and software) approved, apply the
 * registration policy, then create the client and answer 201 with its information and a registration access
 * token (RFC 7592 §3).
 */
export async function registerClient(
  options: DynamicRegistrationOptions,
  body: Record<string, unknown>,
  initialAccessToken?: InitialAccessTokenGrant,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { storage } = options;
  const now = options.clock();
  const authority = await readAuthority(options, body, initialAccessToken, now);
  const approved = await approveAuthority(storage.db, authority);
  const context = await loadPolicyContext(storage.db, approved, now, options.urlGuard);
  const { software_statement: _statement, ...request } = body;
  const result = await evaluateRegistrationPolicy(request, authority, context);
  if (!result.ok) throw policyRefused(result.findings);
  const token = newRegistrationAccessToken();
  const create = (qualifyName: boolean) =>
    storage.transaction((tx) =>
      createDynamicClient(tx, authority, approved.orgId, result.client, token.hash, now, qualifyName),
    );
  let clientId: string;
  try {
    try {
      clientId = await create(false);
    } catch (err) {
      if (!isUniquenessRace(err)) throw err;
      // Once more, with a new client_id and the name qualified by it: unique whatever the other registration did.
      options.logger.info({ err }, 'registration raced another for its name; retrying with a qualified name');
      clientId = await create(true);
    }
  } catch (err) {
    throw asRegistrationError(err, authority);
  }
  const app = await getApplication(storage.db, clientId);
  options.logger.info(
    {
      client_id: clientId,
      org_id: app.org_id,
      software_id: authority.statement?.softwareId,
      iat_id: initialAccessToken?.id,
    },
    'client registered dynamically',
  );
  return {
    status: 201,
    body: clientInformation(
      app,
      { created_at: now.toISOString() },
      {
        mtlsUrl: options.mtlsUrl,
        registrationAccessToken: token.token,
      },
    ),
  };
}
