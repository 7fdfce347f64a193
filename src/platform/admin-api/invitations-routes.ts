import type { FastifyInstance } from 'fastify';
import {
  createInvitation,
  getOrganisation,
  type MemberRole,
  revokeInvitation,
} from '../../directory/index.ts';
import {
  invitationBody,
  invitationJson,
  invitationListQuery,
  invitationListResponse,
  invitationsPage,
  invitationUrl,
  memberListQuery,
  memberListResponse,
  membersPage,
} from '../partner-api/members-routes.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;
const invitationParams = {
  type: 'object',
  required: ['id', 'invitationId'],
  properties: { id: uuidParam, invitationId: uuidParam },
} as const;
const tags = ['organisations'];

/**
 * Operators invite an organisation's members (typically its first org_admin) with one-time links, list and
 * revoke those invitations, and see its members (issue 15).
 */
export function registerInvitationAdminRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { publicUrl: string; kek: string },
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.post(
    '/organisations/:id/invitations',
    {
      schema: {
        tags,
        summary: 'Invite a member with a one-time link (the URL is shown once; valid 7 days)',
        params: idParams,
        body: invitationBody,
        response: { 201: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { role, email } = request.body as { role: MemberRole; email?: string };
      const { invitation, token } = await deps.storage.transaction((tx) =>
        createInvitation(tx, { orgId: id, role, email: email ?? null }, meta(request.actor)),
      );
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...invitationJson(invitation), url: invitationUrl(options.publicUrl, token) });
    },
  );

  app.get(
    '/organisations/:id/invitations',
    {
      schema: {
        tags,
        summary:
          "The organisation's invitations, a page at a time (newest first; next_cursor for the next page)",
        params: idParams,
        querystring: invitationListQuery,
        response: { 200: invitationListResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await getOrganisation(deps.storage.db, id); // 404 for an unknown organisation
      return invitationsPage(deps.storage.db, id, request.query, deps.clock());
    },
  );

  app.delete(
    '/organisations/:id/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: 'Revoke a pending invitation',
        params: invitationParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, invitationId } = request.params as { id: string; invitationId: string };
      await deps.storage.transaction((tx) => revokeInvitation(tx, id, invitationId, meta(request.actor)));
      return reply.code(204).send();
    },
  );

  app.get(
    '/organisations/:id/members',
    {
      schema: {
        tags,
        summary: "The organisation's members, a page at a time (oldest membership first)",
        params: idParams,
        querystring: memberListQuery,
        response: { 200: memberListResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await getOrganisation(deps.storage.db, id);
      return membersPage(deps.storage, options.kek, id, request.query);
    },
  );
}
