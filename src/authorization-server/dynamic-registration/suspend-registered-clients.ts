import { type ActionMeta, directoryStore, setApplicationStatus } from '../../directory/index.ts';
import type { Tx } from '../../storage/index.ts';

/**
 * The clients registered with a software's statements act on its behalf (and dynamic tls_client_auth ones
 * with its certificate): when the software is suspended, every one still active is suspended with it, in the
 * caller's transaction, so their tokens are refused at once. Returns the client_ids suspended.
 */
export async function suspendClientsRegisteredWith(
  tx: Tx,
  softwareId: string,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<string[]> {
  const registered = await tx.db
    .selectFrom('dynamic_registrations')
    .select('client_id')
    .where('software_id', '=', softwareId)
    .execute();
  const directory = directoryStore(tx.db);
  const suspended: string[] = [];
  for (const { client_id: clientId } of registered) {
    if ((await directory.applicationWithOrganisation(clientId))?.status !== 'active') continue;
    await setApplicationStatus(tx, clientId, 'suspended', {
      ...meta,
      reason: `software ${softwareId} was suspended${meta.reason ? `: ${meta.reason}` : ''}`,
    });
    suspended.push(clientId);
  }
  return suspended;
}
