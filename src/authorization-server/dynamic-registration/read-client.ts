import { recordAuditEvent } from '../../audit/index.ts';
import { getApplication } from '../../directory/index.ts';
import { authenticateRegistration } from './authenticate-registration.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { invalidToken } from './registration-error.ts';
import { newRegistrationAccessToken } from './registration-token.ts';

/**
 * RFC 7592 §2.1: the client's current registration. §3 makes `registration_access_token` REQUIRED in the
 * response; only its hash is kept, so a read rotates it (§3: the server MAY issue a new one on any response)
 * and returns the new one. The old token ends in the same transaction, swapped only from the token just
 * checked: of two concurrent reads with one token, one gets the new token and the other 401 invalid_token.
 */
export async function readClient(
  options: DynamicRegistrationOptions,
  clientId: string,
  token: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { storage } = options;
  const now = options.clock();
  const registration = await authenticateRegistration(storage, clientId, token, now);
  const rotated = newRegistrationAccessToken();
  await storage.transaction(async (tx) => {
    const swapped = await tx.db
      .updateTable('dynamic_registrations')
      .set({ registration_token_hash: rotated.hash, token_rotated_at: now.toISOString() })
      .where('client_id', '=', clientId)
      .where('status', '=', 'active')
      .where('registration_token_hash', '=', registration.registration_token_hash)
      .executeTakeFirst();
    if (Number(swapped.numUpdatedRows) !== 1) {
      throw invalidToken('the registration access token is not valid for this client');
    }
    await recordAuditEvent(
      tx,
      {
        actor: `client:${clientId}`,
        action: 'dynamic_registration.rotate_token',
        targetType: 'application',
        targetId: clientId,
        details: { org_id: registration.org_id, reason: 'client read (RFC 7592 §3)' },
      },
      now,
    );
  });
  const app = await getApplication(storage.db, clientId);
  return {
    status: 200,
    body: clientInformation(app, registration, {
      mtlsUrl: options.mtlsUrl,
      registrationAccessToken: rotated.token,
    }),
  };
}
