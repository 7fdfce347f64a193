import { ApplicationDetailPage, ApplicationsPage } from '../operator/applications.tsx';
import { ApprovalsPage } from '../operator/approvals.tsx';
import { CertificatesPage } from '../operator/certificates.tsx';
import { FederationPage } from '../operator/federation.tsx';
import { OrganisationDetailPage, OrganisationsPage } from '../operator/organisations.tsx';
import { OverviewPage } from '../operator/overview.tsx';
import { RegistrationsPage } from '../operator/registrations.tsx';
import type { RouteDef } from './types.ts';

/** The operator console's directory pages (issue 15); auditors see them read-only. */
export const routes: RouteDef[] = [
  { path: 'operator', element: <OverviewPage />, nav: { label: 'Overview', area: 'operator', order: 0 } },
  {
    path: 'operator/organisations',
    element: <OrganisationsPage />,
    nav: { label: 'Organisations', area: 'operator', order: 10 },
  },
  { path: 'operator/organisations/:orgId', element: <OrganisationDetailPage /> },
  {
    path: 'operator/applications',
    element: <ApplicationsPage />,
    nav: { label: 'Applications', area: 'operator', order: 20 },
  },
  { path: 'operator/applications/:clientId', element: <ApplicationDetailPage /> },
  {
    path: 'operator/approvals',
    element: <ApprovalsPage />,
    nav: { label: 'Approval queue', area: 'operator', order: 30 },
  },
  {
    path: 'operator/certificates',
    element: <CertificatesPage />,
    nav: { label: 'Certificates', area: 'operator', order: 50 },
  },
  {
    path: 'operator/federation',
    element: <FederationPage />,
    nav: { label: 'Federation', area: 'operator', order: 60 },
  },
  {
    path: 'operator/registrations',
    element: <RegistrationsPage />,
    nav: { label: 'Registrations', area: 'operator', order: 70 },
  },
];
