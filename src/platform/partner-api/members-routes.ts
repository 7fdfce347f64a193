import type { FastifyInstance } from 'fastify';
import { accountStore } from '../../authorization-server/index.ts';
import {
  changeMemberRole,
  createInvitation,
  type InvitationView,
  listInvitations,
  listMembers,
  MEMBER_ROLES,
  type MemberRole,
  type MemberView,
  removeMember,
  revokeInvitation,
} from '../../directory/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { PartnerDeps } from './deps.ts';

/** The one-time link of an invitation (the secret appears in it once, at creation). */
export const invitationUrl = (publicUrl: string, token: string) =>
  `${publicUrl.replace(/\/+$/, '')}/console/invite/${token}`;

/** An invitation on the wire (never its token or hash). */
export const invitationJson = (i: InvitationView) => ({
  id: i.id,
  org_id: i.orgId,
  role: i.role,
  email: i.email,
  status: i.status,
  created_by: i.createdBy,
  created_at: i.createdAt,
  expires_at: i.expiresAt,
  accepted_at: i.acceptedAt,
  accepted_by: i.acceptedBy,
  revoked_at: i.revokedAt,
});

export const invitationBody = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: {
    role: { type: 'string', enum: [...MEMBER_ROLES] },
    email: { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' },
  },
} as const;

const orgParams = {
  type: 'object',
  required: ['orgId'],
  properties: { orgId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const memberParams = {
  type: 'object',
  required: ['orgId', 'accountId'],
  properties: {
    orgId: { type: 'string', minLength: 1, maxLength: 64 },
    accountId: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;
const invitationParams = {
  type: 'object',
  required: ['orgId', 'id'],
  properties: {
    orgId: { type: 'string', minLength: 1, maxLength: 64 },
    id: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;
const tags = ['members'];

/** Members with their account's username, name and e-mail (the account store is the AS's). */
export async function membersWithAccounts(storage: Storage, kek: string, members: MemberView[]) {
  const accounts = accountStore(storage.db, kek);
  return Promise.all(
    members.map(async (m) => {
      const account = await accounts.find(m.accountId);
      return {
        account_id: m.accountId,
        username: account?.username ?? null,
        name: account?.name ?? null,
        email: account?.email ?? null,
        account_status: account?.status ?? 'removed',
        role: m.role,
        created_at: m.createdAt,
        updated_at: m.updatedAt,
      };
    }),
  );
}

/**
 * Members and invitations of a partner organisation (issue 15): every member sees the members; org_admins
 * change roles, remove members, and invite with one-time links. The last org_admin can be neither demoted nor
 * removed (409). Another organisation's member or invitation is 404 (looked up by id *and* organisation).
 */
export function registerMemberRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  const orgOf = (params: unknown) => (params as { orgId: string }).orgId;

  app.get(
    '/organisations/:orgId/members',
    { schema: { tags, summary: "The organisation's members", params: orgParams } },
    async (request) => ({
      items: await membersWithAccounts(
        deps.storage,
        deps.kek ?? '',
        await listMembers(deps.storage.db, orgOf(request.params)),
      ),
    }),
  );

  app.patch(
    '/organisations/:orgId/members/:accountId',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: "Change a member's role (the last org_admin cannot be demoted)",
        params: memberParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: { type: 'string', enum: [...MEMBER_ROLES] } },
        },
      },
    },
    async (request) => {
      const { orgId, accountId } = request.params as { orgId: string; accountId: string };
      const { role } = request.body as { role: MemberRole };
      const member = await deps.storage.transaction((tx) =>
        changeMemberRole(tx, orgId, accountId, role, meta(request.actor)),
      );
      const [json] = await membersWithAccounts(deps.storage, deps.kek ?? '', [member]);
      return json;
    },
  );

  app.delete(
    '/organisations/:orgId/members/:accountId',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: 'Remove a member (the last org_admin cannot be removed)',
        params: memberParams,
      },
    },
    async (request, reply) => {
      const { orgId, accountId } = request.params as { orgId: string; accountId: string };
      await deps.storage.transaction((tx) => removeMember(tx, orgId, accountId, meta(request.actor)));
      return reply.code(204).send();
    },
  );

  app.get(
    '/organisations/:orgId/invitations',
    {
      config: { memberRole: 'org_admin' },
      schema: { tags, summary: "The organisation's invitations", params: orgParams },
    },
    async (request) => ({
      items: (await listInvitations(deps.storage.db, orgOf(request.params), deps.clock())).map(
        invitationJson,
      ),
    }),
  );

  app.post(
    '/organisations/:orgId/invitations',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: 'Invite someone with a one-time link (shown once, valid 7 days)',
        params: orgParams,
        body: invitationBody,
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request.params);
      const { role, email } = request.body as { role: MemberRole; email?: string };
      const { invitation, token } = await deps.storage.transaction((tx) =>
        createInvitation(tx, { orgId, role, email: email ?? null }, meta(request.actor)),
      );
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...invitationJson(invitation), url: invitationUrl(deps.urls.public, token) });
    },
  );

  app.delete(
    '/organisations/:orgId/invitations/:id',
    {
      config: { memberRole: 'org_admin' },
      schema: { tags, summary: 'Revoke a pending invitation', params: invitationParams },
    },
    async (request, reply) => {
      const { orgId, id } = request.params as { orgId: string; id: string };
      await deps.storage.transaction((tx) => revokeInvitation(tx, orgId, id, meta(request.actor)));
      return reply.code(204).send();
    },
  );
}
