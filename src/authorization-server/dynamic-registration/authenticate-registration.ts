import { recordAuditEvent } from '../../audit/index.ts';
import type { Storage } from '../../storage/index.ts';
import { invalidToken } from './registration-error.ts';
import { bearerTokenMatches, hashBearerToken, newRegistrationAccessToken } from './registration-token.ts';

export interface AuthenticatedRegistration {
  client_id: string;
  org_id: string;
  /** The statement the client registered with (with its software), if any. */
  software_id: string | null;
  ssa_jti: string | null;
  /** The initial access token the client registered with, if any. */
  iat_id: string | null;
  registration_token_hash: string;
  created_at: string;
}

/**
 * RFC 7592 §2.1: a valid token presented for a client it does not belong to SHOULD be revoked at once. It
 * is replaced by the hash of a token nobody knows; the client's owner must register again.
 */
async function revokeMisdirectedToken(
  storage: Storage,
  token: string,
  clientId: string,
  now: Date,
): Promise<void> {
  const owner = await storage.db
    .selectFrom('dynamic_registrations')
    .select('client_id')
    .where('registration_token_hash', '=', hashBearerToken(token))
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (!owner || owner.client_id === clientId) return;
  await storage.transaction(async (tx) => {
    await tx.db
      .updateTable('dynamic_registrations')
      .set({
        registration_token_hash: newRegistrationAccessToken().hash,
        token_rotated_at: now.toISOString(),
      })
      .where('client_id', '=', owner.client_id)
      .execute();
    await recordAuditEvent(
      tx,
      {
        actor: `client:${owner.client_id}`,
        action: 'dynamic_registration.revoke_token',
        targetType: 'application',
        targetId: owner.client_id,
        details: {
          reason: 'registration access token presented for another client',
          presented_for: clientId,
        },
      },
      now,
    );
  });
}

/**
 * RFC 7592 §2: the registration access token is a Bearer token for exactly one active registration, compared
 * in constant time with its stored hash. Anything else is 401 invalid_token, the same answer whether the
 * client does not exist, was deleted, or the token is wrong (nothing to probe client_ids with).
 */
export async function authenticateRegistration(
  storage: Storage,
  clientId: string,
  token: string | undefined,
  now: Date,
): Promise<AuthenticatedRegistration> {
  if (token === undefined) throw invalidToken('a registration access token is required (RFC 7592 §2)');
  const row = await storage.db
    .selectFrom('dynamic_registrations')
    .select([
      'client_id',
      'org_id',
      'software_id',
      'ssa_jti',
      'iat_id',
      'registration_token_hash',
      'created_at',
      'status',
    ])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (row?.status === 'active' && bearerTokenMatches(token, row.registration_token_hash)) {
    const { status: _status, ...registration } = row;
    return registration;
  }
  await revokeMisdirectedToken(storage, token, clientId, now);
  throw invalidToken('the registration access token is not valid for this client');
}
