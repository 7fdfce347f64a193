import type { FastifyInstance } from 'fastify';
import { accountStore } from '../../authorization-server/index.ts';
import { listOperatorAccounts } from '../../console/index.ts';
import { listApplications, listOrganisations } from '../../directory/index.ts';
import { expiringPartnerCertificates, expiringView } from '../../pki/index.ts';
import { invalidInput } from '../../shared/app-error.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const DAY_MS = 86_400_000;

function inRange(name: string, raw: string | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidInput(`${name} must be from ${min} to ${max}`, { field: name });
  }
  return n;
}

/**
 * Access reviews (issue 15): who holds which roles, active clients that sent no traffic for N days (a client
 * never seen counts from its creation), and partner certificates ending within N days.
 */
export function registerAccessReviewRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { kek: string },
): void {
  app.get(
    '/access-reviews',
    {
      schema: {
        tags: ['access-reviews'],
        summary: 'Role holders, clients without traffic for N days, certificates expiring within N days',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            inactive_days: { type: 'string', pattern: '^[0-9]{1,4}$' },
            expiring_days: { type: 'string', pattern: '^[0-9]{1,4}$' },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as { inactive_days?: string; expiring_days?: string };
      const inactiveDays = inRange('inactive_days', q.inactive_days, 1, 3650, 30);
      const expiringDays = inRange('expiring_days', q.expiring_days, 1, 3650, 30);
      // What the doors saw since the last batch counts too: write it first.
      await deps.decisionRecorder?.flush();
      const now = deps.clock();
      const db = deps.storage.db;
      const [applications, organisations, operators, accounts, activity] = await Promise.all([
        listApplications(db, {}, now),
        listOrganisations(db),
        listOperatorAccounts(db),
        accountStore(db, options.kek).list(),
        db.selectFrom('client_activity').select(['client_id', 'last_seen_at', 'last_allowed_at']).execute(),
      ]);
      const orgNames = new Map(organisations.map((o) => [o.id, o.name]));
      const accountsById = new Map(accounts.map((a) => [a.id, a]));
      const seen = new Map(activity.map((a) => [a.client_id, a]));

      const holders = new Map<string, Array<Record<string, unknown>>>();
      for (const a of applications) {
        for (const grant of a.role_grants) {
          const list = holders.get(grant.role) ?? [];
          list.push({
            client_id: a.client_id,
            application: a.name,
            status: a.status,
            org_id: a.org_id,
            organisation: orgNames.get(a.org_id) ?? null,
            environment: a.environment ?? 'production',
            expires_at: grant.expires_at ?? null,
            expired: grant.expired,
          });
          holders.set(grant.role, list);
        }
      }

      const cutoff = new Date(now.getTime() - inactiveDays * DAY_MS).toISOString();
      const inactive = applications
        .filter((a) => a.status === 'active')
        .flatMap((a) => {
          const last = seen.get(a.client_id);
          const since = last?.last_seen_at ?? a.created_at;
          if (since > cutoff) return [];
          return [
            {
              client_id: a.client_id,
              application: a.name,
              org_id: a.org_id,
              organisation: orgNames.get(a.org_id) ?? null,
              environment: a.environment ?? 'production',
              created_at: a.created_at,
              last_seen_at: last?.last_seen_at ?? null,
              last_allowed_at: last?.last_allowed_at ?? null,
              days_without_traffic: Math.floor((now.getTime() - new Date(since).getTime()) / DAY_MS),
            },
          ];
        })
        .sort(
          (x, y) => y.days_without_traffic - x.days_without_traffic || x.client_id.localeCompare(y.client_id),
        );

      const horizon = new Date(now.getTime() + expiringDays * DAY_MS);
      const expiring = (await expiringPartnerCertificates(db, now, horizon)).map((item) => ({
        ...expiringView(item, now),
        organisation: item.orgId ? (orgNames.get(item.orgId) ?? null) : null,
      }));

      return {
        generated_at: now.toISOString(),
        inactive_days: inactiveDays,
        expiring_days: expiringDays,
        role_holders: [...holders]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([role, list]) => ({ role, holders: list })),
        operators: operators.map((o) => ({
          account_id: o.accountId,
          username: accountsById.get(o.accountId)?.username ?? null,
          name: accountsById.get(o.accountId)?.name ?? null,
          account_status: accountsById.get(o.accountId)?.status ?? null,
          role: o.role,
          since: o.createdAt,
        })),
        inactive_clients: inactive,
        expiring_certificates: expiring,
      };
    },
  );
}
