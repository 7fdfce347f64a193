import type { FastifyInstance } from 'fastify';
import { recordAuditEvent } from '../../audit/index.ts';
import {
  ACCOUNT_PAGE_KEY,
  type AccountView,
  accountStore,
  GRANT_PAGE_KEY,
  grantStore,
} from '../../authorization-server/index.ts';
import { notFound } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

/** End-user accounts of the built-in store and their remembered consents (issue 14). */
export interface AccountAdminDeps {
  kek: string;
  /** The TOTP issuer shown in authenticator apps (the platform's public host). */
  totpIssuer: string;
}

const userTags = ['users'];
const grantTags = ['grants'];
const userParams = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const noContent = { type: 'null' } as const;
const password = { type: 'string', minLength: 8, maxLength: 1024 } as const;

export function registerAccountRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: AccountAdminDeps,
): void {
  const grants = grantStore(deps.storage);

  /** Runs a change to one account in a transaction with its audit entry (never a password or secret). */
  async function change<T extends { account: AccountView }>(
    actor: string,
    action: string,
    fn: (store: ReturnType<typeof accountStore>, now: Date) => Promise<T>,
  ): Promise<T> {
    const now = deps.clock();
    return deps.storage.transaction(async (tx) => {
      const result = await fn(accountStore(tx.db, options.kek), now);
      await recordAuditEvent(
        tx,
        {
          actor,
          action,
          targetType: 'account',
          targetId: result.account.id,
          details: { username: result.account.username },
        },
        now,
      );
      return result;
    });
  }

  app.get(
    '/users',
    {
      schema: {
        tags: userTags,
        summary:
          'List end-user accounts of the built-in store, a page at a time (username order; next_cursor for the next page)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['active', 'disabled'] },
            username_prefix: { type: 'string', minLength: 1, maxLength: 254 },
            email_prefix: { type: 'string', minLength: 1, maxLength: 254 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { users: { type: 'array', items: anyObject }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        status?: 'active' | 'disabled';
        username_prefix?: string;
        email_prefix?: string;
        limit?: string;
        cursor?: string;
      };
      const page = await accountStore(deps.storage.db, options.kek).listPage(
        { status: q.status, usernamePrefix: q.username_prefix, emailPrefix: q.email_prefix },
        pageRequest(q, ACCOUNT_PAGE_KEY.length),
      );
      return { users: page.items, next_cursor: page.next_cursor };
    },
  );

  app.post(
    '/users',
    {
      schema: {
        tags: userTags,
        summary: 'Add an end-user account (password hashed with argon2id)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 254 },
            password,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            email: { type: 'string', format: 'email', maxLength: 254 },
          },
        },
        response: { 201: anyObject, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { username: string; password: string; name?: string; email?: string };
      const { account } = await change(request.actor, 'account.created', async (store, now) => ({
        account: await store.add(body, now),
      }));
      return reply
        .code(201)
        .header('location', `/admin/v1/users/${encodeURIComponent(account.id)}`)
        .send(account);
    },
  );

  app.get(
    '/users/:user',
    {
      schema: {
        tags: userTags,
        summary: 'One account, by id or username',
        params: userParams,
        response: errorResponses,
      },
    },
    async (request) =>
      accountStore(deps.storage.db, options.kek).get((request.params as { user: string }).user),
  );

  for (const [verb, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post(
      `/users/:user/${verb}`,
      {
        schema: {
          tags: userTags,
          summary: `${verb === 'disable' ? 'Disable' : 'Enable'} an account (a disabled account cannot sign in)`,
          params: userParams,
          response: errorResponses,
        },
      },
      async (request) =>
        (
          await change(
            request.actor,
            `account.${status === 'active' ? 'enabled' : 'disabled'}`,
            async (store, now) => ({
              account: await store.setStatus((request.params as { user: string }).user, status, now),
            }),
          )
        ).account,
    );
  }

  app.put(
    '/users/:user/password',
    {
      schema: {
        tags: userTags,
        summary: 'Set an account’s password (clears its lockout)',
        params: userParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: { password },
        },
        response: errorResponses,
      },
    },
    async (request) =>
      (
        await change(request.actor, 'account.password_set', async (store, now) => ({
          account: await store.setPassword(
            (request.params as { user: string }).user,
            (request.body as { password: string }).password,
            now,
          ),
        }))
      ).account,
  );

  app.post(
    '/users/:user/totp',
    {
      schema: {
        tags: userTags,
        summary: 'Enrol TOTP (RFC 6238): returns the secret and otpauth URI once',
        params: userParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const enrolled = await change(request.actor, 'account.totp_enabled', (store, now) =>
        store.enableTotp((request.params as { user: string }).user, options.totpIssuer, now),
      );
      return reply
        .header('cache-control', 'no-store')
        .send({ ...enrolled.account, totp_secret: enrolled.secret, totp_uri: enrolled.uri });
    },
  );

  app.delete(
    '/users/:user/totp',
    {
      schema: {
        tags: userTags,
        summary: 'Turn TOTP off for an account',
        params: userParams,
        response: errorResponses,
      },
    },
    async (request) =>
      (
        await change(request.actor, 'account.totp_disabled', async (store, now) => ({
          account: await store.disableTotp((request.params as { user: string }).user, now),
        }))
      ).account,
  );

  app.delete(
    '/users/:user',
    {
      schema: {
        tags: userTags,
        summary: 'Remove an account and revoke its consents (and their refresh tokens)',
        params: userParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { account } = await change(request.actor, 'account.removed', async (store) => ({
        account: await store.remove((request.params as { user: string }).user),
      }));
      await grants.revokeAllOf(account.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/grants',
    {
      schema: {
        tags: grantTags,
        summary:
          'List remembered consents (grants), optionally of one user or client, a page at a time (oldest first)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            user: { type: 'string', minLength: 1, maxLength: 300 },
            client_id: { type: 'string', minLength: 1, maxLength: 300 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { grants: { type: 'array', items: anyObject }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query as { user?: string; client_id?: string; limit?: string; cursor?: string };
      const page = pageRequest(query, GRANT_PAGE_KEY.length);
      const account = query.user
        ? (await accountStore(deps.storage.db, options.kek).get(query.user)).id
        : undefined;
      const found = await grants.listPage(
        { ...(account && { account }), ...(query.client_id && { clientId: query.client_id }) },
        page,
        deps.clock(),
      );
      return { grants: found.items, next_cursor: found.next_cursor };
    },
  );

  app.delete(
    '/grants/:id',
    {
      schema: {
        tags: grantTags,
        summary: 'Revoke a consent: the grant and every code and refresh token issued under it',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const now = deps.clock();
      const revoked = await grants.revoke(id);
      if (!revoked) throw notFound('grant', id);
      await deps.storage.transaction((tx) =>
        recordAuditEvent(
          tx,
          { actor: request.actor, action: 'grant.revoked', targetType: 'grant', targetId: id },
          now,
        ),
      );
      return reply.code(204).send();
    },
  );
}
