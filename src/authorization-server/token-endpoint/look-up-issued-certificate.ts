import type { Kysely } from 'kysely';
import { directoryStore } from '../../directory/index.ts';
import { certificateStore } from '../../pki/index.ts';
import type { Database } from '../../storage/index.ts';

/**
 * The platform's record of a presented certificate, with the state of the application it was issued to and
 * of that application's organisation (null: the application no longer exists).
 */
export interface IssuedCertificateState {
  client_id: string;
  org_id: string;
  subject: string;
  status: string;
  /** The first successful token request with it; null: never (absent: not known). */
  first_used_at?: string | null;
  app_status: string | null;
  app_org_id: string | null;
  app_org_status: string | null;
}

/** The certificate the platform issued with this thumbprint, if any, with its application's state. */
export async function lookUpIssuedCertificate(
  db: Kysely<Database>,
  x5tS256: string,
): Promise<IssuedCertificateState | undefined> {
  const cert = await certificateStore(db).byThumbprint(x5tS256);
  if (!cert) return undefined;
  const app = await directoryStore(db).applicationWithOrganisation(cert.client_id);
  return {
    ...cert,
    app_status: app?.status ?? null,
    app_org_id: app?.org_id ?? null,
    app_org_status: app?.org_status ?? null,
  };
}
