import type { ReactNode } from 'react';

/**
 * A page of the console. Partner pages live under `orgs/:orgId/…`, operator pages under `operator/…`, pages
 * without a session (an invitation link) set `public`.
 */
export interface RouteDef {
  path: string;
  element: ReactNode;
  nav?: { label: string; area: 'operator' | 'partner'; order: number };
  public?: boolean;
}
