import { randomBytes } from 'node:crypto';
import { recordAuditEvent } from '../../audit/index.ts';
import { createApplication, getApplication } from '../../directory/index.ts';
import { isCodedError } from '../../shared/app-error.ts';
import { normaliseName } from '../../shared/names.ts';
import type { Tx } from '../../storage/index.ts';
import { checkSoftwareApproved, checkStatementUnused } from './check-statement-approval.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { loadPolicyContext } from './policy-context.ts';
import {
  invalidStatement,
  policyRefused,
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
  const result = await tx.db
    .updateTable('software_statements')
    .set({ status: 'used', used_at: now.toISOString() })
    .where('jti', '=', statement.jti)
    .where('status', '=', 'issued')
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 1) return;
  const row = await tx.db
    .selectFrom('software_statements')
    .select('status')
    .where('jti', '=', statement.jti)
    .executeTakeFirst();
  if (row?.status === 'used') throw invalidStatement('software_statement has already been used (jti)');
  throw unapprovedStatement('software_statement is no longer approved');
}

/**
 * The statement's client name unless another application of the organisation has it (the software itself
 * usually does), then qualified by the new client_id: the name is for people, the client_id identifies.
 */
async function availableName(tx: Tx, orgId: string, clientId: string, wanted: string): Promise<string> {
  const suffix = ` (${clientId})`;
  const candidates = [wanted.slice(0, 200), `${wanted.slice(0, 200 - suffix.length)}${suffix}`];
  for (const candidate of candidates) {
    const { name, key } = normaliseName('client_name', candidate);
    const taken = await tx.db
      .selectFrom('applications')
      .select('client_id')
      .where('org_id', '=', orgId)
      .where('name_key', '=', key)
      .executeTakeFirst();
    if (!taken) return name;
  }
  return clientId;
}

/** The directory's own metadata validation (keys, sizes) is a client metadata problem of the request. */
export function asRegistrationError(err: unknown): unknown {
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
  // The organisation or a role changed between the policy's read and the transaction.
  if (err.code === 'organisation_not_active' || err.code === 'role_not_approved') {
    return unapprovedStatement(err.message);
  }
  return err;
}

/** One transaction: the statement is used, the client exists with its roles, its registration and its audit entry. */
async function createDynamicClient(
  tx: Tx,
  statement: SoftwareStatement,
  registered: RegisteredClient,
  tokenHash: string,
  now: Date,
): Promise<string> {
  await claimStatement(tx, statement, now);
  const clientId = newDynamicClientId();
  const actor = `software:${statement.softwareId}`;
  await createApplication(
    tx,
    {
      orgId: statement.orgId,
      name: await availableName(tx, statement.orgId, clientId, statement.clientName),
      roles: registered.roles,
      authMethod: registered.authMethod,
      metadata: registered.metadata,
      registrationType: 'dynamic',
      clientId,
    },
    { actor, now },
  );
  await tx.db
    .updateTable('software_statements')
    .set({ used_by_client_id: clientId })
    .where('jti', '=', statement.jti)
    .execute();
  const at = now.toISOString();
  await tx.db
    .insertInto('dynamic_registrations')
    .values({
      client_id: clientId,
      org_id: statement.orgId,
      software_id: statement.softwareId,
      ssa_jti: statement.jti,
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
        org_id: statement.orgId,
        software_id: statement.softwareId,
        ssa_jti: statement.jti,
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
 * The registration endpoint (RFC 7591 §3): verify the software statement, check it is unused and its
 * software approved, apply the registration policy, then create the client and answer 201 with its
 * information and a registration access token (RFC 7592 §3).
 */
export async function registerClient(
  options: DynamicRegistrationOptions,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { storage } = options;
  const now = options.clock();
  const statement = await verifySoftwareStatement(body.software_statement, {
    db: storage.db,
    issuer: options.statementIssuer,
    now,
    maxAgeSeconds: options.softwareStatementMaxAgeSeconds,
    skewSeconds: options.skewSeconds,
  });
  await checkStatementUnused(storage.db, statement);
  const approved = await checkSoftwareApproved(storage.db, statement);
  const context = await loadPolicyContext(storage.db, approved, now);
  const { software_statement: _statement, ...request } = body;
  const result = await evaluateRegistrationPolicy(request, statement, context);
  if (!result.ok) throw policyRefused(result.findings);
  const token = newRegistrationAccessToken();
  let clientId: string;
  try {
    clientId = await storage.transaction((tx) =>
      createDynamicClient(tx, statement, result.client, token.hash, now),
    );
  } catch (err) {
    throw asRegistrationError(err);
  }
  const app = await getApplication(storage.db, clientId);
  options.logger.info(
    { client_id: clientId, org_id: app.org_id, software_id: statement.softwareId },
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
