import type { FastifyInstance } from 'fastify';
import { CSRF_HEADER, csrfMatches, UNSAFE_METHODS } from '../../console/index.ts';
import { memberRoleAtLeast } from '../../directory/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { registerPartnerApplicationRoutes } from './application-routes.ts';
import { registerPartnerCatalogApi } from './catalog-routes.ts';
import { registerPartnerCertificateRoutes } from './certificate-routes.ts';
import type { PartnerDeps } from './deps.ts';
import { registerMemberRoutes } from './members-routes.ts';
import { registerPartnerOrganisationRoutes } from './organisation-routes.ts';
import { registerPartnerPlaybookRoutes } from './playbook-routes.ts';
import { registerPartnerSoftwareStatementRoutes } from './software-statement-routes.ts';
import { registerTestplanRoutes } from './testplan-routes.ts';

export type { PartnerContext, PartnerDeps } from './deps.ts';

/**
 * The partner API (/partner/v1): what the partner portal does, for members of partner organisations signed in
 * through the platform's own authorization server (console session cookie). Every route on an organisation's
 * data is under `/organisations/:orgId/…` and authorised by membership there: a non-member gets 404 (the
 * organisation's existence is not confirmed), a member below the route's role 403; objects are always looked
 * up by id *and* organisation, so another organisation's object is 404 too (object-level authorization).
 */
export async function registerPartnerApi(app: FastifyInstance, deps: PartnerDeps): Promise<void> {
  await app.register(
    async (partner) => {
      partner.decorateRequest('partner', undefined);
      partner.decorateRequest('actor', '');
      partner.decorateRequest('consoleCaller', undefined);
      partner.addHook('onRequest', async (request, reply) => {
        if (request.headers['sec-fetch-site'] === 'cross-site') {
          return sendProblem(reply, problem(403, 'cross_site_request', 'cross-site requests are refused'));
        }
        const caller = await deps.callers.resolve(request.headers.cookie);
        if (!caller) {
          return sendProblem(reply, problem(401, 'unauthenticated', 'sign in to the console first'));
        }
        if (UNSAFE_METHODS.has(request.method) && !csrfMatches(caller.secret, request.headers[CSRF_HEADER])) {
          return sendProblem(
            reply,
            problem(403, 'csrf_token_invalid', `the ${CSRF_HEADER} header is missing or wrong`),
          );
        }
        request.actor = `account:${caller.account.username}`;
        const orgId = (request.params as { orgId?: string } | undefined)?.orgId;
        if (orgId === undefined) {
          request.consoleCaller = caller;
          return;
        }
        const membership = caller.memberships.find((m) => m.orgId === orgId);
        if (!membership) {
          return sendProblem(reply, problem(404, 'not_found', `organisation ${orgId} does not exist`));
        }
        const needed =
          request.routeOptions.config.memberRole ??
          (UNSAFE_METHODS.has(request.method) ? 'developer' : 'viewer');
        if (!memberRoleAtLeast(membership.role, needed)) {
          return sendProblem(
            reply,
            problem(403, 'insufficient_member_role', `this needs the ${needed} role in the organisation`),
          );
        }
        if (membership.orgStatus !== 'active' && UNSAFE_METHODS.has(request.method)) {
          return sendProblem(reply, problem(403, 'organisation_not_active', 'the organisation is suspended'));
        }
        request.consoleCaller = caller;
        request.partner = { caller, orgId, role: membership.role };
      });
      // The organisations the caller is a member of, with its role in each.
      partner.get('/organisations', async (request) => ({
        items: (request.consoleCaller?.memberships ?? []).map((m) => ({
          id: m.orgId,
          name: m.orgName,
          status: m.orgStatus,
          member_role: m.role,
        })),
      }));
      // Route files (one per resource) register here.
      registerTestplanRoutes(partner, deps);
      registerMemberRoutes(partner, deps);
      registerPartnerOrganisationRoutes(partner, deps);
      registerPartnerApplicationRoutes(partner, deps);
      registerPartnerCertificateRoutes(partner, deps);
      registerPartnerSoftwareStatementRoutes(partner, deps);
      registerPartnerCatalogApi(partner, deps);
      registerPartnerPlaybookRoutes(partner, deps);
    },
    { prefix: '/partner/v1' },
  );
}
