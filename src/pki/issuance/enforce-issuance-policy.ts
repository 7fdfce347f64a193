import type { ApplicationWithOrganisation } from '../../directory/index.ts';
import { AppError } from '../../shared/app-error.ts';
import type { CertificateTemplate } from './certificate-template.ts';

/**
 * Enforcer: only an active application of an active organisation gets a certificate, and never one that
 * outlives the issuing CA (RFC 5280 §6.1.3: it could not be validated past the CA's notAfter).
 */
export function enforceIssuancePolicy(
  app: Pick<ApplicationWithOrganisation, 'client_id' | 'org_id' | 'status' | 'org_status'>,
  template: CertificateTemplate,
  ca: { notAfter: Date },
): void {
  if (app.org_status !== 'active') {
    throw new AppError('organisation_not_active', 409, `organisation ${app.org_id} is ${app.org_status}`);
  }
  if (app.status !== 'active') {
    throw new AppError('application_not_active', 409, `application ${app.client_id} is ${app.status}`);
  }
  if (template.notAfter > ca.notAfter) {
    throw new AppError(
      'ca_expiring',
      409,
      'the issuing CA expires before the requested validity; rotate the CA first',
    );
  }
}
