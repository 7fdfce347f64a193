import type { ApplicationWithOrganisation } from '../../directory/index.ts';
import type { PartnerSubject } from '../partner-certificate.ts';

const DAY_MS = 86_400_000;
// Backdating absorbs clock skew between the platform and relying parties (a common CA practice).
const BACKDATE_MS = 60_000;

/** What a partner certificate will say, before it is signed. */
export interface CertificateTemplate {
  subject: PartnerSubject;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Modifier: the subject from the directory's view of the application (never from the CSR) and the validity,
 * backdated a minute but never before the issuing CA's own notBefore, whole seconds as X.509 encodes them.
 */
export function certificateTemplate(
  app: Pick<ApplicationWithOrganisation, 'client_id' | 'org_id' | 'org_name'>,
  ca: { notBefore: Date },
  validityDays: number,
  now: Date,
): CertificateTemplate {
  const backdated = Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000;
  return {
    subject: { clientId: app.client_id, orgId: app.org_id, orgName: app.org_name },
    notBefore: new Date(Math.max(backdated, ca.notBefore.getTime())),
    notAfter: new Date(Math.floor(now.getTime() / 1000) * 1000 + validityDays * DAY_MS),
  };
}
