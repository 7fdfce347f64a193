import type { FastifyInstance } from 'fastify';
import { countRegistrationRecords } from '../../authorization-server/index.ts';
import { directoryOverviewCounts, organisationLiveAt, requireOrganisation } from '../../directory/index.ts';
import type { TrustMarkTypeConfig } from '../../federation/index.ts';
import { countCertificates } from '../../pki/index.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const counts = { type: 'object', additionalProperties: { type: 'integer' } } as const;

/**
 * The operator console's overview (issue 15): what needs attention, in counts; an organisation's go-live; the
 * Trust Mark types the platform is configured to issue (for the console's issue form). Every count is an
 * aggregate query of the module that owns the table (issue 16): the overview costs the same at 100 and at
 * 100,000 applications.
 */
export function registerOperatorOverviewRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: { trustMarkTypes: readonly TrustMarkTypeConfig[] },
): void {
  app.get(
    '/federation/trust-mark-types',
    {
      schema: {
        tags: ['federation'],
        summary: 'The Trust Mark types the platform issues, and the roles each grants a federation client',
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    type: { type: 'string' },
                    roles: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({ items: fed.trustMarkTypes.map((t) => ({ type: t.type, roles: [...t.roles] })) }),
  );

  app.get(
    '/overview',
    {
      schema: {
        tags: ['overview'],
        summary:
          'Counts for the operator console: organisations, applications, pending approvals, certificates expiring',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { expiring_within_days: { type: 'string', pattern: '^[0-9]{1,4}$' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              organisations: counts,
              applications: counts,
              pending_role_requests: { type: 'integer' },
              expiring_within_days: { type: 'integer' },
              certificates_expiring: { type: 'integer' },
              registrations: counts,
            },
          },
        },
      },
    },
    async (request) => {
      const days = Number((request.query as { expiring_within_days?: string }).expiring_within_days ?? 30);
      const db = deps.storage.db;
      const now = deps.clock();
      const [directory, expiring, registrations] = await Promise.all([
        directoryOverviewCounts(db),
        countCertificates(db, {
          status: 'active',
          notAfterBefore: new Date(now.getTime() + days * 86_400_000).toISOString(),
        }),
        countRegistrationRecords(db),
      ]);
      return {
        organisations: directory.organisations,
        applications: directory.applications,
        pending_role_requests: directory.pendingRoleRequests,
        expiring_within_days: days,
        certificates_expiring: expiring,
        registrations: { total: registrations.dynamic + registrations.federation, ...registrations },
      };
    },
  );

  app.get(
    '/organisations/:id/live-status',
    {
      schema: {
        tags: ['organisations'],
        summary:
          'The go-live gate: when the organisation passed it (null while it works in the sandbox only)',
        params: { type: 'object', required: ['id'], properties: { id: uuidParam } },
        response: {
          200: {
            type: 'object',
            properties: {
              org_id: { type: 'string' },
              live: { type: 'boolean' },
              live_at: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await requireOrganisation(deps.storage.db, id);
      const liveAt = await organisationLiveAt(deps.storage.db, id);
      return { org_id: id, live: liveAt !== null, live_at: liveAt };
    },
  );
}
