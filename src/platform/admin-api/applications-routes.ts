import type { FastifyInstance } from 'fastify';
import { suspendClientsRegisteredWith } from '../../authorization-server/index.ts';
import {
  APPLICATION_AUTH_METHODS,
  APPLICATION_PAGE_KEY,
  assertFetchableMetadata,
  createApplication,
  getApplication,
  grantApplicationRole,
  listApplicationsPage,
  revokeApplicationRole,
  roleGrants,
  setApplicationStatus,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { applicationSchema, errorResponses, reasonBody, roleGrantSchema } from './schemas.ts';

const clientParams = {
  type: 'object',
  required: ['clientId'],
  properties: { clientId: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;
const tags = ['applications'];

export function registerApplicationRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.get(
    '/applications',
    {
      schema: {
        tags,
        summary:
          'List applications (OAuth clients), a page at a time (oldest first; next_cursor for the next page)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org_id: { type: 'string', maxLength: 64 },
            environment: { type: 'string', enum: ['sandbox', 'production'] },
            status: { type: 'string', enum: ['active', 'suspended'] },
            name_prefix: { type: 'string', minLength: 1, maxLength: 200 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: applicationSchema }, next_cursor: nextCursorSchema },
          },
          400: { $ref: 'Problem#' },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as {
        org_id?: string;
        environment?: 'sandbox' | 'production';
        status?: 'active' | 'suspended';
        name_prefix?: string;
        limit?: string;
        cursor?: string;
      };
      const filter = {
        orgId: q.org_id,
        environment: q.environment,
        status: q.status,
        namePrefix: q.name_prefix,
      };
      const page = pageRequest(q, APPLICATION_PAGE_KEY.length);
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'applications',
          filter,
          page,
          now: deps.clock().toISOString(),
        });
        return reply.type('application/json; charset=utf-8').send(json);
      }
      return listApplicationsPage(deps.storage.db, filter, page, deps.clock());
    },
  );

  app.post(
    '/applications',
    {
      schema: {
        tags,
        summary: 'Register an application manually; it belongs to exactly one organisation',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['org_id', 'name', 'roles', 'auth_method'],
          properties: {
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            name: { type: 'string', minLength: 1, maxLength: 200 },
            roles: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', maxLength: 100 } },
            auth_method: { type: 'string', enum: [...APPLICATION_AUTH_METHODS] },
            metadata: { type: 'object', additionalProperties: true },
          },
        },
        response: { 201: applicationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        org_id: string;
        name: string;
        roles: string[];
        auth_method: string;
        metadata?: Record<string, unknown>;
      };
      // A jwks_uri on a loopback, private or link-local host is refused before anything is stored (no SSRF).
      await assertFetchableMetadata(body.metadata, deps.urlGuard);
      const clientId = await deps.storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId: body.org_id,
            name: body.name,
            roles: body.roles,
            authMethod: body.auth_method,
            metadata: body.metadata,
          },
          meta(request.actor),
        ),
      );
      return reply
        .code(201)
        .header('location', `/admin/v1/applications/${clientId}`)
        .send(await getApplication(deps.storage.db, clientId, deps.clock()));
    },
  );

  app.get(
    '/applications/:clientId',
    {
      schema: {
        tags,
        summary: 'Read an application',
        params: clientParams,
        response: { 200: applicationSchema, ...errorResponses },
      },
    },
    async (request) =>
      getApplication(deps.storage.db, (request.params as { clientId: string }).clientId, deps.clock()),
  );

  for (const [verb, status] of [
    ['suspend', 'suspended'],
    ['activate', 'active'],
  ] as const) {
    app.post(
      `/applications/:clientId/${verb}`,
      {
        schema: {
          tags,
          summary: verb === 'suspend' ? 'Suspend: its tokens are refused at once' : 'Re-activate',
          params: clientParams,
          body: reasonBody,
          response: { 200: applicationSchema, ...errorResponses },
        },
      },
      async (request) => {
        const { clientId } = request.params as { clientId: string };
        const reason = (request.body as { reason?: string } | undefined)?.reason;
        await deps.storage.transaction(async (tx) => {
          const m = { ...meta(request.actor), reason };
          await setApplicationStatus(tx, clientId, status, m);
          // Suspending a software suspends the clients registered with its statements; re-activating it leaves
          // each of them to an operator's decision.
          if (status === 'suspended') await suspendClientsRegisteredWith(tx, clientId, m);
        });
        return getApplication(deps.storage.db, clientId, deps.clock());
      },
    );
  }

  app.get(
    '/applications/:clientId/roles',
    {
      schema: {
        tags,
        summary: 'The application’s role grants, with their end dates; expired ones marked',
        params: clientParams,
      },
    },
    async (request) => {
      const { clientId } = request.params as { clientId: string };
      await getApplication(deps.storage.db, clientId, deps.clock());
      const grants = await roleGrants(deps.storage.db, [clientId], deps.clock());
      return { items: grants.map(({ role, expires_at, expired }) => ({ role, expires_at, expired })) };
    },
  );
  app.post(
    '/applications/:clientId/roles',
    {
      schema: {
        tags,
        summary:
          'Grant a role, optionally until expires_at: from then on the application’s next token lacks its scopes',
        params: clientParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: {
            role: { type: 'string', minLength: 1, maxLength: 100 },
            expires_at: { type: ['string', 'null'], maxLength: 40 },
          },
        },
        response: { 200: roleGrantSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { clientId } = request.params as { clientId: string };
      const body = request.body as { role: string; expires_at?: string | null };
      return deps.storage.transaction((tx) =>
        grantApplicationRole(
          tx,
          { clientId, role: body.role, expiresAt: body.expires_at ?? null },
          meta(request.actor),
        ),
      );
    },
  );
  app.delete(
    '/applications/:clientId/roles/:role',
    {
      schema: {
        tags,
        summary: 'Take a role away: the application’s next token lacks its scopes',
        params: {
          type: 'object',
          required: ['clientId', 'role'],
          properties: {
            clientId: { type: 'string', minLength: 1, maxLength: 255 },
            role: { type: 'string', minLength: 1, maxLength: 100 },
          },
        },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { clientId, role } = request.params as { clientId: string; role: string };
      await deps.storage.transaction((tx) =>
        revokeApplicationRole(tx, { clientId, role }, meta(request.actor)),
      );
      return reply.code(204).send();
    },
  );
}
