import { ApplicationDetailPage } from '../partner/application-detail.tsx';
import { ApplicationsPage } from '../partner/applications.tsx';
import { CatalogPage } from '../partner/catalog.tsx';
import { OverviewPage } from '../partner/overview.tsx';
import { PlaybookPage } from '../partner/playbook.tsx';
import { SoftwareStatementsPage } from '../partner/statements.tsx';
import type { RouteDef } from './types.ts';

export const routes: RouteDef[] = [
  { path: 'orgs/:orgId', element: <OverviewPage />, nav: { label: 'Overview', area: 'partner', order: 10 } },
  {
    path: 'orgs/:orgId/applications',
    element: <ApplicationsPage />,
    nav: { label: 'Applications', area: 'partner', order: 20 },
  },
  { path: 'orgs/:orgId/applications/:clientId', element: <ApplicationDetailPage /> },
  { path: 'orgs/:orgId/applications/:clientId/playbook', element: <PlaybookPage /> },
  {
    path: 'orgs/:orgId/software-statements',
    element: <SoftwareStatementsPage />,
    nav: { label: 'Software statements', area: 'partner', order: 40 },
  },
  {
    path: 'orgs/:orgId/catalog',
    element: <CatalogPage />,
    nav: { label: 'Access catalog', area: 'partner', order: 50 },
  },
];
