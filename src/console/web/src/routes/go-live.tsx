import { OperatorGoLivePage } from '../go-live/operator-go-live.tsx';
import { PartnerTestPlanPage } from '../go-live/partner-test-plan.tsx';
import type { RouteDef } from './types.ts';

/** Issue 15: the sandbox test plan and the go-live gate, for partners and for operators. */
export const routes: RouteDef[] = [
  {
    path: 'orgs/:orgId/test-plan',
    element: <PartnerTestPlanPage />,
    nav: { label: 'Test plan & go-live', area: 'partner', order: 30 },
  },
  {
    path: 'operator/go-live',
    element: <OperatorGoLivePage />,
    nav: { label: 'Go-live', area: 'operator', order: 40 },
  },
];
