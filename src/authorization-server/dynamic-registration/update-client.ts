import { recordAuditEvent } from '../../audit/index.ts';
import { type ApplicationView, getApplication, updateRegisteredApplication } from '../../directory/index.ts';
import { type AuthenticatedRegistration, authenticateRegistration } from './authenticate-registration.ts';
import { loadInitialAccessTokenGrant } from './check-initial-access-token.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { loadPolicyContext } from './policy-context.ts';
import { asRegistrationError } from './register-client.ts';
import { approveAuthority, type RegistrationAuthority } from './registration-authority.ts';
import { invalidToken, policyRefused, type RegistrationFinding } from './registration-error.ts';
import { evaluateRegistrationPolicy, type RegisteredClient } from './registration-policy/index.ts';
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
 * initial access token, with whether the token has been revoked since (the client is still managed, but the
 * token no longer authorises widening it).
 */
async function registeredAuthority(
  options: DynamicRegistrationOptions,
  registration: AuthenticatedRegistration,
  metadata: Record<string, unknown>,
): Promise<{ authority: RegistrationAuthority; tokenRevoked: boolean }> {
  const statementJwt = registration.ssa_jti ? String(metadata.software_statement ?? '') : undefined;
  const token = registration.iat_id
    ? await loadInitialAccessTokenGrant(options.storage.db, registration.iat_id)
    : undefined;
  return {
    authority: {
      statement: statementJwt === undefined ? undefined : decodeStoredStatement(statementJwt),
      initialAccessToken: token && { id: token.id, orgId: token.orgId, roles: token.roles },
    },
    tokenRevoked: token?.revoked === true,
  };
}

const stringsOf = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/**
 * A client whose initial access token was revoked keeps what it has, no more: the update may drop roles,
 * scopes, grant types or redirection URIs and rotate its keys (jwks, jwks_uri), but not add any of them back,
 * nor change its authentication method or certificate subject (another credential). Only revocation counts:
 * a token's expiry and uses bound registering with it, not managing what it registered.
 */
function checkNoWidening(current: ApplicationView, next: RegisteredClient): RegistrationFinding[] {
  const findings: RegistrationFinding[] = [];
  const why =
    'the initial access token this client registered with has been revoked: an update may narrow it';
  const finding = (
    field: string,
    reason: string,
    code: RegistrationFinding['code'] = 'invalid_client_metadata',
  ) => findings.push({ field, code, reason: `${reason}; ${why}`, spec: 'RFC 7592 §2.2' });
  const currentScopes =
    typeof current.metadata.scope === 'string'
      ? current.metadata.scope.split(' ').filter((s) => current.scopes.includes(s))
      : current.scopes;
  for (const role of next.roles.filter((r) => !current.roles.includes(r))) {
    finding('roles', `${role} is not among the client’s current roles`);
  }
  for (const scope of next.scopes.filter((s) => !currentScopes.includes(s))) {
    finding('scope', `${scope} is not within the client’s current scope`);
  }
  const grants = stringsOf(current.metadata.grant_types);
  for (const grant of stringsOf(next.metadata.grant_types).filter((g) => !grants.includes(g))) {
    finding('grant_types', `${grant} is not among the client’s current grant types`);
  }
  const uris = stringsOf(current.metadata.redirect_uris);
  for (const uri of stringsOf(next.metadata.redirect_uris).filter((u) => !uris.includes(u))) {
    finding(
      'redirect_uris',
      `${uri} is not one of the client’s current redirect_uris`,
      'invalid_redirect_uri',
    );
  }
  if (next.authMethod !== current.auth_method) {
    finding('token_endpoint_auth_method', `must stay ${current.auth_method}`);
  }
  const subject = current.metadata.tls_client_auth_subject_dn;
  if (next.metadata.tls_client_auth_subject_dn !== subject) {
    finding('tls_client_auth_subject_dn', 'must stay the client’s current certificate subject');
  }
  return findings;
}

/**
 * RFC 7592 §2.2: the client replaces its metadata. The same policy as at registration runs against the
 * ORIGINAL authority — statement, initial access token or both — as it stands TODAY: the statement's values
 * (whatever its `exp`, which only bounds registering with it) within the software's current roles and the
 * organisation's current approved roles, the software and organisation still active, the certificate
 * subject that of an active application's certificate. So nothing can widen beyond what the software may
 * still do, move to another organisation or name another organisation's certificate. A revoked initial
 * access token authorises no widening at all (checkNoWidening). On success the registration access token is
 * rotated and the new one returned.
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
  const { authority, tokenRevoked } = await registeredAuthority(options, registration, current.metadata);
  const approved = await approveAuthority(storage.db, authority);
  const context = await loadPolicyContext(storage.db, approved, now, options.urlGuard);
  const { client_id: _id, software_statement: _statement, ...request } = body;
  const result = await evaluateRegistrationPolicy(request, authority, context);
  const findings = [
    ...checkUpdateRequest(body, clientId, authority.statement?.jwt),
    ...(result.ok ? (tokenRevoked ? checkNoWidening(current, result.client) : []) : result.findings),
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
