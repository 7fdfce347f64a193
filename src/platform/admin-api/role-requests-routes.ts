import type { FastifyInstance } from 'fastify';
import {
  decideRoleRequest,
  getRoleRequest,
  listRoleRequestsPage,
  type RoleRequestStatus,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['role requests'];

export const roleRequestSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    org_id: { type: 'string' },
    org_name: { type: 'string' },
    client_id: { type: 'string' },
    application_name: { type: 'string' },
    environment: { type: 'string', enum: ['sandbox', 'production'] },
    role: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'withdrawn'] },
    requested_by: { type: 'string' },
    requested_at: { type: 'string' },
    decided_by: { type: ['string', 'null'] },
    decided_at: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'] },
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;

/**
 * The approval queue (issue 15): roles partners asked for their production applications. Approving approves
 * the role for the organisation and grants it to the application in one transaction (optionally until
 * `expires_at`); rejecting needs a reason the partner sees. A request already decided answers 409.
 */
export function registerRoleRequestRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.get(
    '/role-requests',
    {
      schema: {
        tags,
        summary: 'The approval queue: role requests, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'withdrawn'] },
            org_id: { type: 'string', maxLength: 64 },
            client_id: { type: 'string', maxLength: 255 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: roleRequestSchema }, next_cursor: nextCursorSchema },
          },
          400: { $ref: 'Problem#' },
        },
      },
    },
    async (request) => {
      const q = request.query as {
        status?: RoleRequestStatus;
        org_id?: string;
        client_id?: string;
        limit?: string;
        cursor?: string;
      };
      return listRoleRequestsPage(
        deps.storage.db,
        {
          ...(q.status ? { status: q.status } : {}),
          ...(q.org_id ? { orgId: q.org_id } : {}),
          ...(q.client_id ? { clientId: q.client_id } : {}),
        },
        pageRequest(q, 2),
      );
    },
  );

  app.get(
    '/role-requests/:id',
    {
      schema: {
        tags,
        summary: 'Read a role request',
        params: idParams,
        response: { 200: roleRequestSchema, ...errorResponses },
      },
    },
    async (request) => getRoleRequest(deps.storage.db, (request.params as { id: string }).id),
  );

  app.post(
    '/role-requests/:id/approve',
    {
      schema: {
        tags,
        summary:
          'Approve: the organisation is approved for the role and the application granted it (until expires_at if given)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            expires_at: { type: ['string', 'null'], maxLength: 40 },
            reason: { type: 'string', maxLength: 500 },
          },
        },
        response: { 200: roleRequestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { expires_at?: string | null; reason?: string };
      // expires_at is checked (RFC 3339, in the future) by the grant, inside the transaction.
      return deps.storage.transaction((tx) =>
        decideRoleRequest(
          tx,
          { id, approve: true, reason: body.reason, expiresAt: body.expires_at ?? null },
          meta(request.actor),
        ),
      );
    },
  );

  app.post(
    '/role-requests/:id/reject',
    {
      schema: {
        tags,
        summary: 'Reject, with the reason the partner sees (required)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: { 200: roleRequestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { reason } = request.body as { reason: string };
      return deps.storage.transaction((tx) =>
        decideRoleRequest(tx, { id, approve: false, reason }, meta(request.actor)),
      );
    },
  );
}
