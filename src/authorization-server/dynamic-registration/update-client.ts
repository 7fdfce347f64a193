import { recordAuditEvent } from '../../audit/index.ts';
import { getApplication, updateRegisteredApplication } from '../../directory/index.ts';
import { type AuthenticatedRegistration, authenticateRegistration } from './authenticate-registration.ts';
import { checkSoftwareApproved } from './check-statement-approval.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { loadPolicyContext } from './policy-context.ts';
import { asRegistrationError } from './register-client.ts';
import { invalidToken, policyRefused, type RegistrationFinding } from './registration-error.ts';
import { evaluateRegistrationPolicy } from './registration-policy/index.ts';
import { newRegistrationAccessToken } from './registration-token.ts';
import { decodeStoredStatement } from './verify-software-statement.ts';

// RFC 7592 §2.2: values the server provisions; the client MUST NOT send them back.
const SERVER_FIELDS = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret_expires_at',
  'client_id_issued_at',
] as const;

/** RFC 7592 §2.2: the request names the client it updates, carries no server-provisioned values, same statement. */
function checkUpdateRequest(
  body: Record<string, unknown>,
  clientId: string,
  statementJwt: string,
): RegistrationFinding[] {
  const findings: RegistrationFinding[] = [];
  if (body.client_id !== clientId) {
    findings.push({
      field: 'client_id',
      code: 'invalid_client_metadata',
      reason: 'must be present and be this client’s client_id',
      spec: 'RFC 7592 §2.2',
    });
  }
  for (const field of SERVER_FIELDS) {
    if (body[field] !== undefined) {
      findings.push({
        field,
        code: 'invalid_client_metadata',
        reason: 'must not be sent in an update',
        spec: 'RFC 7592 §2.2',
      });
    }
  }
  // A client keeps the statement it registered with; another statement is another registration.
  if (body.software_statement !== undefined && body.software_statement !== statementJwt) {
    findings.push({
      field: 'software_statement',
      code: 'invalid_client_metadata',
      reason: 'cannot be replaced; register again with a new statement',
      spec: 'RFC 7591 §3.1.1',
    });
  }
  return findings;
}

/**
 * RFC 7592 §2.2: the client replaces its metadata. The same policy as at registration runs against the
 * ORIGINAL statement (so nothing can widen beyond it, move to another organisation or name another
 * organisation's certificate); on success the registration access token is rotated and the new one returned.
 */
export async function updateClient(
  options: DynamicRegistrationOptions,
  clientId: string,
  token: string | undefined,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { storage } = options;
  const now = options.clock();
  const registration: AuthenticatedRegistration = await authenticateRegistration(
    storage,
    clientId,
    token,
    now,
  );
  const current = await getApplication(storage.db, clientId);
  const statementJwt = String(current.metadata.software_statement ?? '');
  const statement = decodeStoredStatement(statementJwt);
  const approved = await checkSoftwareApproved(storage.db, statement);
  const context = await loadPolicyContext(storage.db, approved, now);
  const { client_id: _id, software_statement: _statement, ...request } = body;
  const result = await evaluateRegistrationPolicy(request, statement, context);
  const findings = [
    ...checkUpdateRequest(body, clientId, statementJwt),
    ...(result.ok ? [] : result.findings),
  ];
  if (findings.length > 0 || !result.ok) throw policyRefused(findings);

  const rotated = newRegistrationAccessToken();
  const actor = `client:${clientId}`;
  try {
    await storage.transaction(async (tx) => {
      // Rotated only from the token just checked: of two concurrent updates with one token, one is refused.
      const swapped = await tx.db
        .updateTable('dynamic_registrations')
        .set({
          registration_token_hash: rotated.hash,
          token_rotated_at: now.toISOString(),
          updated_at: now.toISOString(),
        })
        .where('client_id', '=', clientId)
        .where('status', '=', 'active')
        .where('registration_token_hash', '=', registration.registration_token_hash)
        .executeTakeFirst();
      if (Number(swapped.numUpdatedRows) !== 1) {
        throw invalidToken('the registration access token is not valid for this client');
      }
      await updateRegisteredApplication(
        tx,
        clientId,
        {
          authMethod: result.client.authMethod,
          metadata: result.client.metadata,
          roles: result.client.roles,
        },
        { actor, now },
      );
      await recordAuditEvent(
        tx,
        {
          actor,
          action: 'dynamic_registration.update',
          targetType: 'application',
          targetId: clientId,
          details: {
            org_id: registration.org_id,
            software_id: registration.software_id,
            roles: result.client.roles,
            scope: result.client.scopes.join(' '),
            auth_method: result.client.authMethod,
            token_rotated: true,
          },
        },
        now,
      );
    });
  } catch (err) {
    throw asRegistrationError(err);
  }
  const app = await getApplication(storage.db, clientId);
  return {
    status: 200,
    body: clientInformation(app, registration, {
      mtlsUrl: options.mtlsUrl,
      registrationAccessToken: rotated.token,
    }),
  };
}
