import type { FastifyInstance } from 'fastify';
import { accountStore } from '../../authorization-server/index.ts';
import {
  changeMemberRole,
  createInvitation,
  INVITATION_PAGE_KEY,
  type InvitationStatus,
  type InvitationView,
  listInvitationsPage,
  listMembersPage,
  MEMBER_PAGE_KEY,
  MEMBER_ROLES,
  type MemberRole,
  type MemberView,
  removeMember,
  revokeInvitation,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
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

/** `?status=&role=&email_prefix=&limit=&cursor=` of an organisation's invitation list. */
export const invitationListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['pending', 'accepted', 'revoked', 'expired'] },
    role: { type: 'string', enum: [...MEMBER_ROLES] },
    email_prefix: { type: 'string', minLength: 1, maxLength: 254 },
    ...pageQueryProperties,
  },
} as const;

/** `?role=&limit=&cursor=` of an organisation's member list. */
export const memberListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { role: { type: 'string', enum: [...MEMBER_ROLES] }, ...pageQueryProperties },
} as const;

const listResponse = (items: Record<string, unknown>) =>
  ({
    type: 'object',
    properties: { items: { type: 'array', items }, next_cursor: nextCursorSchema },
  }) as const;

export const invitationListResponse = listResponse({
  type: 'object',
  properties: {
    id: { type: 'string' },
    org_id: { type: 'string' },
    role: { type: 'string' },
    email: { type: ['string', 'null'] },
    status: { type: 'string' },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    expires_at: { type: 'string' },
    accepted_at: { type: ['string', 'null'] },
    accepted_by: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
  },
});

export const memberListResponse = listResponse({
  type: 'object',
  properties: {
    account_id: { type: 'string' },
    username: { type: ['string', 'null'] },
    name: { type: ['string', 'null'] },
    email: { type: ['string', 'null'] },
    account_status: { type: 'string' },
    role: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
});

type InvitationListQuery = {
  status?: InvitationStatus;
  role?: MemberRole;
  email_prefix?: string;
  limit?: string;
  cursor?: string;
};

/** One page of an organisation's invitations on the wire (admin and partner API). */
export async function invitationsPage(db: Storage['db'], orgId: string, query: unknown, now: Date) {
  const q = query as InvitationListQuery;
  const page = await listInvitationsPage(
    db,
    orgId,
    { status: q.status, role: q.role, emailPrefix: q.email_prefix },
    pageRequest(q, INVITATION_PAGE_KEY.length),
    now,
  );
  return { items: page.items.map(invitationJson), next_cursor: page.next_cursor };
}

/** One page of an organisation's members with their accounts (admin and partner API). */
export async function membersPage(storage: Storage, kek: string, orgId: string, query: unknown) {
  const q = query as { role?: MemberRole; limit?: string; cursor?: string };
  const page = await listMembersPage(
    storage.db,
    orgId,
    { role: q.role },
    pageRequest(q, MEMBER_PAGE_KEY.length),
  );
  return { items: await membersWithAccounts(storage, kek, page.items), next_cursor: page.next_cursor };
}

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
    {
      schema: {
        tags,
        summary: "The organisation's members, a page at a time (oldest membership first)",
        params: orgParams,
        querystring: memberListQuery,
        response: { 200: memberListResponse },
      },
    },
    async (request) => membersPage(deps.storage, deps.kek ?? '', orgOf(request.params), request.query),
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
      schema: {
        tags,
        summary: "The organisation's invitations, a page at a time (newest first)",
        params: orgParams,
        querystring: invitationListQuery,
        response: { 200: invitationListResponse },
      },
    },
    async (request) => invitationsPage(deps.storage.db, orgOf(request.params), request.query, deps.clock()),
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
