import { recordAuditEvent } from '../../audit/index.ts';
import { deregisterApplication } from '../../directory/index.ts';
import { authenticateRegistration } from './authenticate-registration.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { invalidToken } from './registration-error.ts';

/**
 * RFC 7592 §2.3: the client deregisters itself. The application is deleted (the change feed tells every
 * gateway at once, so its access tokens stop working, as §2.3 asks of grants and tokens) and the
 * registration with its access token ends. 204, no body.
 */
export async function deleteClient(
  options: DynamicRegistrationOptions,
  clientId: string,
  token: string | undefined,
): Promise<{ status: number }> {
  const now = options.clock();
  const registration = await authenticateRegistration(options.storage, clientId, token, now);
  const actor = `client:${clientId}`;
  await options.storage.transaction(async (tx) => {
    // Conditional on the token just checked: a concurrent update that rotated it wins, this delete is refused.
    const ended = await tx.db
      .updateTable('dynamic_registrations')
      .set({ status: 'deleted', updated_at: now.toISOString() })
      .where('client_id', '=', clientId)
      .where('status', '=', 'active')
      .where('registration_token_hash', '=', registration.registration_token_hash)
      .executeTakeFirst();
    if (Number(ended.numUpdatedRows) !== 1)
      throw invalidToken('the registration access token is not valid for this client');
    await deregisterApplication(tx, clientId, {
      actor,
      now,
      reason: 'deleted by the client (RFC 7592 §2.3)',
    });
    await recordAuditEvent(
      tx,
      {
        actor,
        action: 'dynamic_registration.delete',
        targetType: 'application',
        targetId: clientId,
        details: {
          org_id: registration.org_id,
          ...(registration.software_id ? { software_id: registration.software_id } : {}),
          ...(registration.iat_id ? { iat_id: registration.iat_id } : {}),
        },
      },
      now,
    );
  });
  options.logger.info({ client_id: clientId }, 'dynamically registered client deleted');
  return { status: 204 };
}
