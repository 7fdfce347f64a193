import type { FastifyInstance } from 'fastify';
import { listAuditEvents, verifyAuditChain } from '../../audit/index.ts';
import { listCatalog, listRoles } from '../../directory/index.ts';
import type { AdminDeps } from './deps.ts';

export function registerCatalogRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/roles',
    { schema: { tags: ['catalog'], summary: 'Roles and the scopes each grants' } },
    async () => ({
      items: await listRoles(deps.storage.db),
    }),
  );
  app.get(
    '/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Access catalog: operation → required scope → roles that grant it',
      },
    },
    async () => ({ items: await listCatalog(deps.storage.db) }),
  );
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log, oldest first, from a sequence number',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as { after?: string; limit?: string };
      const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
      return { items: await listAuditEvents(deps.storage.db, { after: Number(q.after ?? 0), limit }) };
    },
  );
  app.get(
    '/audit/verify',
    { schema: { tags: ['audit'], summary: 'Recompute the audit hash chain' } },
    async () => verifyAuditChain(deps.storage.db),
  );
}
