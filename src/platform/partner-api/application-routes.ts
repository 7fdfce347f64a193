import type { FastifyInstance } from 'fastify';
import { suspendClientsRegisteredWith } from '../../authorization-server/index.ts';
import {
  APPLICATION_PAGE_KEY,
  AUTH_METHODS,
  assertFetchableMetadata,
  createApplication,
  createRoleRequest,
  deregisterApplication,
  getApplication,
  getOrganisation,
  listApplicationsPage,
  listRoleRequests,
  listRoleRequestsPage,
  organisationLiveAt,
  type RoleRequestView,
  updateApplicationProfile,
  withdrawRoleRequest,
} from '../../directory/index.ts';
import { listCertificates } from '../../pki/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { applicationSchema } from '../admin-api/schemas.ts';
import type { PartnerDeps } from './deps.ts';
import {
  applicationOfOrg,
  clientParams,
  idParams,
  metaOf,
  orgOf,
  orgParams,
  partnerErrors,
  tags,
} from './lookup.ts';

export const ENVIRONMENTS = ['sandbox', 'production'] as const;
type Environment = (typeof ENVIRONMENTS)[number];

const roleRequestSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    org_id: { type: 'string' },
    client_id: { type: 'string' },
    application_name: { type: 'string' },
    environment: { type: 'string', enum: [...ENVIRONMENTS] },
    role: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'withdrawn'] },
    requested_by: { type: 'string' },
    requested_at: { type: 'string' },
    decided_by: { type: ['string', 'null'] },
    decided_at: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'], description: 'why an operator rejected it' },
  },
} as const;

const partnerApplicationSchema = {
  type: 'object',
  properties: {
    ...applicationSchema.properties,
    environment: { type: 'string', enum: [...ENVIRONMENTS] },
    role_requests: { type: 'array', items: roleRequestSchema },
  },
} as const;

const redirectUris = {
  type: 'array',
  maxItems: 20,
  items: { type: 'string', minLength: 1, maxLength: 2048 },
} as const;

export const goLiveRequired = () =>
  new AppError(
    'go_live_required',
    409,
    'production needs the go-live gate: pass the test plan against the sandbox first',
  );

/** Applications and the roles partners ask for them. */
export function registerPartnerApplicationRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  const withRequests = async (clientId: string, orgId: string) => ({
    ...(await getApplication(deps.storage.db, clientId, deps.clock())),
    role_requests: await listRoleRequests(deps.storage.db, { orgId, clientId }),
  });

  app.get(
    '/organisations/:orgId/applications',
    {
      schema: {
        tags,
        summary: 'The organisation’s applications',
        params: orgParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            environment: { type: 'string', enum: [...ENVIRONMENTS] },
            status: { type: 'string', enum: ['active', 'suspended'] },
            name_prefix: { type: 'string', minLength: 1, maxLength: 200 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: partnerApplicationSchema },
              next_cursor: nextCursorSchema,
            },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        environment?: Environment;
        status?: 'active' | 'suspended';
        name_prefix?: string;
        limit?: string;
        cursor?: string;
      };
      // The organisation comes from the path the membership check vouched for, never from the cursor.
      return listApplicationsPage(
        deps.storage.db,
        { orgId: orgOf(request), environment: q.environment, status: q.status, namePrefix: q.name_prefix },
        pageRequest(q, APPLICATION_PAGE_KEY.length),
        deps.clock(),
      );
    },
  );

  app.post(
    '/organisations/:orgId/applications',
    {
      schema: {
        tags,
        summary:
          'Create an application: sandbox roles the organisation holds are granted, the rest requested',
        description:
          'A sandbox application gets at once the requested roles approved for the organisation; every other requested role becomes a role request for an operator. A production application needs the go-live gate (409 go_live_required before) and starts with no role: all its requested roles go to the approval queue.',
        params: orgParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            environment: { type: 'string', enum: [...ENVIRONMENTS], default: 'sandbox' },
            auth_method: { type: 'string', enum: [...AUTH_METHODS], default: 'tls_client_auth' },
            roles: {
              type: 'array',
              maxItems: 50,
              default: [],
              items: { type: 'string', minLength: 1, maxLength: 100 },
            },
            redirect_uris: redirectUris,
            jwks: { type: 'object', additionalProperties: true },
            jwks_uri: { type: 'string', maxLength: 2048 },
          },
        },
        response: { 201: partnerApplicationSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const body = request.body as {
        name: string;
        environment: Environment;
        auth_method: string;
        roles: string[];
        redirect_uris?: string[];
        jwks?: Record<string, unknown>;
        jwks_uri?: string;
      };
      const metadata: Record<string, unknown> = {};
      if (body.redirect_uris && body.redirect_uris.length > 0) {
        metadata.redirect_uris = body.redirect_uris;
        metadata.grant_types = ['client_credentials', 'authorization_code', 'refresh_token'];
      }
      if (body.jwks !== undefined) metadata.jwks = body.jwks;
      if (body.jwks_uri !== undefined) metadata.jwks_uri = body.jwks_uri;
      // A jwks_uri on a loopback, private or link-local host is refused before anything is stored (no SSRF).
      await assertFetchableMetadata(metadata, deps.urlGuard);
      const meta = metaOf(deps, request);
      const clientId = await deps.storage.transaction(async (tx) => {
        if (body.environment === 'production' && (await organisationLiveAt(tx.db, orgId)) === null) {
          throw goLiveRequired();
        }
        const requested = [...new Set(body.roles)];
        const approved = new Set((await getOrganisation(tx.db, orgId)).roles);
        const grant = body.environment === 'sandbox' ? requested.filter((r) => approved.has(r)) : [];
        const clientId = await createApplication(
          tx,
          {
            orgId,
            name: body.name,
            roles: grant,
            authMethod: body.auth_method,
            metadata,
            environment: body.environment,
            allowNoRoles: true,
          },
          meta,
        );
        for (const role of requested.filter((r) => !grant.includes(r))) {
          await createRoleRequest(tx, { orgId, clientId, role }, meta);
        }
        return clientId;
      });
      return reply
        .code(201)
        .header('location', `/partner/v1/organisations/${orgId}/applications/${clientId}`)
        .send(await withRequests(clientId, orgId));
    },
  );

  app.get(
    '/organisations/:orgId/applications/:clientId',
    {
      schema: {
        tags,
        summary: 'One application, with its role requests',
        params: clientParams,
        response: { 200: partnerApplicationSchema, ...partnerErrors },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      await applicationOfOrg(deps, orgId, clientId);
      return withRequests(clientId, orgId);
    },
  );

  app.patch(
    '/organisations/:orgId/applications/:clientId',
    {
      schema: {
        tags,
        summary: 'Rename the application or change its redirect URIs',
        params: clientParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, redirect_uris: redirectUris },
        },
        response: { 200: partnerApplicationSchema, ...partnerErrors },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      const body = request.body as { name?: string; redirect_uris?: string[] };
      await applicationOfOrg(deps, orgId, clientId);
      await deps.storage.transaction((tx) =>
        updateApplicationProfile(
          tx,
          clientId,
          { name: body.name, redirectUris: body.redirect_uris },
          metaOf(deps, request),
        ),
      );
      return withRequests(clientId, orgId);
    },
  );

  app.delete(
    '/organisations/:orgId/applications/:clientId',
    {
      schema: {
        tags,
        summary: 'Delete the application: deregistered, its certificates revoked, its requests withdrawn',
        params: clientParams,
        response: { 204: { type: 'null' }, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      await applicationOfOrg(deps, orgId, clientId);
      const meta = metaOf(deps, request);
      await deps.storage.transaction(async (tx) => {
        const active = await listCertificates(tx.db, { clientId, orgId, status: 'active' });
        for (const { serial } of active) await deps.ca.revoke(tx, serial, 'cessationOfOperation', meta);
        for (const r of await listRoleRequests(tx.db, { orgId, clientId, status: 'pending' })) {
          await withdrawRoleRequest(tx, { id: r.id, orgId }, meta);
        }
        const reason = 'deleted in the partner portal';
        await suspendClientsRegisteredWith(tx, clientId, { ...meta, reason });
        await deregisterApplication(tx, clientId, { ...meta, reason });
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/organisations/:orgId/role-requests',
    {
      schema: {
        tags,
        summary: 'The roles the organisation asked for, and what operators decided',
        params: orgParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'withdrawn'] },
            client_id: { type: 'string', maxLength: 255 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: roleRequestSchema }, next_cursor: nextCursorSchema },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        status?: RoleRequestView['status'];
        client_id?: string;
        limit?: string;
        cursor?: string;
      };
      // Newest first, keyset-paged like the operators' approval queue; always this organisation's only.
      return listRoleRequestsPage(
        deps.storage.db,
        {
          orgId: orgOf(request),
          ...(q.status ? { status: q.status } : {}),
          ...(q.client_id ? { clientId: q.client_id } : {}),
        },
        pageRequest(q, 2),
      );
    },
  );

  app.post(
    '/organisations/:orgId/applications/:clientId/role-requests',
    {
      schema: {
        tags,
        summary: 'Ask an operator for a role for the application',
        params: clientParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        response: { 201: roleRequestSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      const { role } = request.body as { role: string };
      await applicationOfOrg(deps, orgId, clientId);
      const created = await deps.storage.transaction((tx) =>
        createRoleRequest(tx, { orgId, clientId, role }, metaOf(deps, request)),
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/organisations/:orgId/role-requests/:id',
    {
      schema: {
        tags,
        summary: 'Withdraw a pending role request',
        params: idParams,
        response: { 200: roleRequestSchema, ...partnerErrors },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const { id } = request.params as { id: string };
      return deps.storage.transaction((tx) => withdrawRoleRequest(tx, { id, orgId }, metaOf(deps, request)));
    },
  );
}
