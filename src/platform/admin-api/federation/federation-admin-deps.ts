import type { TrustChainResolver, TrustMarkTypeConfig } from '../../../federation/index.ts';

/** What the federation admin routes need beyond the common dependencies. */
export interface FederationAdminDeps {
  kek: string;
  entityId: string;
  statementLifetimeSeconds: number;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  allowHttpLoopback: boolean;
  /** The platform's trust chain resolver (for operator diagnostics of a chain). */
  resolver: TrustChainResolver;
}
