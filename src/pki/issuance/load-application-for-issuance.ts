import {
  type ApplicationWithOrganisation,
  directoryStore,
  lockOrganisationOfApplication,
} from '../../directory/index.ts';
import { notFound } from '../../shared/app-error.ts';
import type { Tx } from '../../storage/index.ts';

/**
 * The directory's view of the application a certificate is for, read in the issuing transaction; a deleted or
 * unknown application is not found. PostgreSQL: offboarding revokes the organisation's active certificates, so
 * its row is held: a concurrent offboarding either waits for this certificate (and revokes it) or commits first
 * and is seen here.
 */
export async function loadApplicationForIssuance(
  tx: Tx,
  clientId: string,
): Promise<ApplicationWithOrganisation> {
  await lockOrganisationOfApplication(tx, clientId);
  const app = await directoryStore(tx.db).applicationWithOrganisation(clientId);
  if (!app || app.status === 'deleted') throw notFound('application', clientId);
  return app;
}
