import type { Tx } from '../storage/index.ts';
import { suspendApplicationsOfOrganisation } from './applications.ts';
import type { ActionMeta } from './context.ts';
import { setOrganisationStatus } from './organisations.ts';

/** What offboarding asks of the PKI: revoke every active certificate of the organisation, in the same transaction. */
export type RevokeOrganisationCertificates = (tx: Tx, orgId: string) => Promise<number>;

/**
 * Offboards an organisation for good, in the caller's transaction: its status becomes `offboarded`, every
 * application of it is suspended and the PKI revokes its certificates (cessationOfOperation), so no client,
 * certificate or token of it works once the transaction commits. A repeated call changes nothing.
 */
export async function offboardOrganisation(
  tx: Tx,
  orgId: string,
  revokeCertificates: RevokeOrganisationCertificates,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<{ suspendedApplications: number; revokedCertificates: number }> {
  await setOrganisationStatus(tx, orgId, 'offboarded', meta);
  const suspendedApplications = await suspendApplicationsOfOrganisation(tx, orgId, meta);
  const revokedCertificates = await revokeCertificates(tx, orgId);
  return { suspendedApplications, revokedCertificates };
}
