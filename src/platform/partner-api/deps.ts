import type { CallerResolver, ConsoleCaller } from '../../console/index.ts';
import type { MemberRole } from '../../directory/index.ts';
import type { AdminDeps } from '../admin-api/deps.ts';
import type { SoftwareStatementAdminDeps } from '../admin-api/software-statements-routes.ts';
import type { PartnerCatalogContext } from '../partner-catalog/partner-catalog-context.ts';

/** What partner API handlers need: the admin API's dependencies, the caller resolver and the public URLs. */
export interface PartnerDeps extends AdminDeps {
  callers: CallerResolver;
  urls: { public: string; mtls: string; gateway: string };
  /** The platform's data directory (CA bundle, …). */
  dataDir: string;
  /** The KEK: opens the account store (members' usernames and names). */
  kek?: string;
  /** Software statements partners issue for their own applications (the admin route's issuer and signer). */
  statements?: SoftwareStatementAdminDeps;
  /** The published access catalog's context (token endpoint, gateway, CA bundle URL). */
  catalog?: PartnerCatalogContext;
}

/** The member behind a partner API request on an organisation's resources (`/organisations/:orgId/…`). */
export interface PartnerContext {
  caller: ConsoleCaller;
  orgId: string;
  role: MemberRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    partner?: PartnerContext;
  }
  interface FastifyContextConfig {
    /** The least member role a partner API route needs (default: viewer to read, developer to change). */
    memberRole?: MemberRole;
  }
}
