import { recordAuditEvent } from '../../audit/index.ts';
import { getApplication, updateRegisteredApplication } from '../../directory/index.ts';
import { type AuthenticatedRegistration, authenticateRegistration } from './authenticate-registration.ts';
import { loadInitialAccessTokenGrant } from './check-initial-access-token.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { loadPolicyContext } from './policy-context.ts';
import { asRegistrationError } from './register-client.ts';
import { approveAuthority, type RegistrationAuthority } from './registration-authority.ts';
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
  statementJwt: string | undefined,
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
  // A client keeps the authority it registered with; another statement is another registration.
  if (body.software_statement !== undefined && body.software_statement !== statementJwt) {
    findings.push({
      field: 'software_statement',
      code: 'invalid_client_metadata',
      reason:
        statementJwt === undefined
          ? 'cannot be added to a client registered without one; register again with it'
          : 'cannot be replaced; register again with a new statement',
      spec: 'RFC 7591 §3.1.1',
    });
  }
  return findings;
}

/**
 * The authority a client registered with, read again: its statement (as stored with the client) and the
 * initial access token, whatever the token's state today (revoking it stops new registrations, not this one).
 */
async function registeredAuthority(
  options: DynamicRegistrationOptions,
  registration: AuthenticatedRegistration,
  metadata: Record<string, unknown>,
): Promise<RegistrationAuthority> {
  const statementJwt = registration.ssa_jti ? String(metadata.software_statement ?? '') : undefined;
  return {
    statement: statementJwt === undefined ? undefined : decodeStoredStatement(statementJwt),
    initialAccessToken: registration.iat_id
      ? await loadInitialAccessTokenGrant(options.storage.db, registration.iat_id)
      : undefined,
  };
}

/**
 * RFC 7592 §2.2: the client replaces its metadata. The same policy as at registration runs against the
 * ORIGINAL authority — statement, initial access token or both — so nothing can widen beyond it, move to
 * another organisation or name another organisation's certificate; on success the registration access token
 * is rotated and the new one returned.
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
  const authority = await registeredAuthority(options, registration, current.metadata);
  const approved = await approveAuthority(storage.db, authority);
  const context = await loadPolicyContext(storage.db, approved, now);
  const { client_id: _id, software_statement: _statement, ...request } = body;
  const result = await evaluateRegistrationPolicy(request, authority, context);
  const findings = [
    ...checkUpdateRequest(body, clientId, authority.statement?.jwt),
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
            ...(registration.software_id ? { software_id: registration.software_id } : {}),
            ...(registration.iat_id ? { iat_id: registration.iat_id } : {}),
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
    throw asRegistrationError(err, authority);
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
