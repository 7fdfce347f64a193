import { InvitePage } from '../auth/invite-page.tsx';
import { MembersPage } from '../auth/members-page.tsx';
import { OperatorAccountsPage } from '../auth/operator-accounts-page.tsx';
import type { RouteDef } from './types.ts';

/** Issue 15: invitation links (public), the organisation's members, the operator console's accounts. */
export const routes: RouteDef[] = [
  { path: 'invite/:token', element: <InvitePage />, public: true },
  {
    path: 'orgs/:orgId/members',
    element: <MembersPage />,
    nav: { label: 'Members', area: 'partner', order: 90 },
  },
  {
    path: 'operator/accounts',
    element: <OperatorAccountsPage />,
    nav: { label: 'Operator accounts', area: 'operator', order: 95 },
  },
];
