import { AccessReviewsPage } from '../monitoring/access-reviews.tsx';
import { AuditLogPage } from '../monitoring/audit-log.tsx';
import { DecisionLogPage } from '../monitoring/decision-log.tsx';
import { TrafficPage } from '../monitoring/traffic.tsx';
import type { RouteDef } from './types.ts';

/** Issue 15: what the platform's doors decide, traffic per organisation, access reviews, the audit log. */
export const routes: RouteDef[] = [
  {
    path: 'operator/decisions',
    element: <DecisionLogPage />,
    nav: { label: 'Decision log', area: 'operator', order: 80 },
  },
  {
    path: 'operator/traffic',
    element: <TrafficPage />,
    nav: { label: 'Traffic', area: 'operator', order: 85 },
  },
  {
    path: 'operator/access-reviews',
    element: <AccessReviewsPage />,
    nav: { label: 'Access reviews', area: 'operator', order: 86 },
  },
  {
    path: 'operator/audit',
    element: <AuditLogPage />,
    nav: { label: 'Audit log', area: 'operator', order: 87 },
  },
];
