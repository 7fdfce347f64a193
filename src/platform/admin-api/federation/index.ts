import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../deps.ts';
import type { FederationAdminDeps } from './federation-admin-deps.ts';
import { registerFederationKeyRoutes } from './keys-routes.ts';
import { registerResolveRoute } from './resolve-routes.ts';
import { registerSubordinateRoutes } from './subordinates-routes.ts';
import { registerTrustMarkRoutes } from './trust-marks-routes.ts';

export type { FederationAdminDeps } from './federation-admin-deps.ts';

/** The federation admin API: each route parses, calls the federation authority (or the authorization server for its reactions) and maps the result. */
export function registerFederationRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: FederationAdminDeps,
): void {
  registerSubordinateRoutes(app, deps, fed);
  registerTrustMarkRoutes(app, deps, fed);
  registerResolveRoute(app, fed);
  registerFederationKeyRoutes(app, deps, fed);
}
