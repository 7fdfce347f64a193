import type { FastifyInstance } from 'fastify';
import { recordAuditEvent } from '../../audit/index.ts';
import { accountStore } from '../../authorization-server/index.ts';
import { acceptInvitation, findInvitationByToken } from '../../directory/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { CSRF_HEADER, csrfMatches } from '../sessions.ts';
import { type ConsoleSignInDeps, consoleReply } from './sign-in-routes.ts';

const tokenParams = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/**
 * The public side of an invitation link (issue 15): what it invites to, and accepting it — signed in, the
 * session's account joins; not signed in, a new built-in account (password policy applies) is created and
 * joins, in one transaction. One use only: of two concurrent accepts one wins, the other gets 410.
 */
export function registerInvitationRoutes(app: FastifyInstance, deps: ConsoleSignInDeps): void {
  app.get(
    '/console/api/invitations/:token',
    { schema: { hide: true, params: tokenParams } },
    async (request, reply) => {
      consoleReply(reply);
      const { token } = request.params as { token: string };
      const found = await findInvitationByToken(deps.storage.db, token, deps.clock());
      if (!found) throw new AppError('not_found', 404, 'no such invitation');
      if (found.invitation.status !== 'pending') {
        throw new AppError('invitation_gone', 410, `this invitation is ${found.invitation.status}`);
      }
      return {
        organisation: { id: found.invitation.orgId, name: found.orgName },
        role: found.invitation.role,
        email: found.invitation.email,
        expires_at: found.invitation.expiresAt,
      };
    },
  );

  app.post(
    '/console/api/invitations/:token/accept',
    {
      schema: {
        hide: true,
        params: tokenParams,
        body: {
          anyOf: [
            { type: 'null' },
            {
              type: 'object',
              additionalProperties: false,
              properties: {
                username: { type: 'string', minLength: 1, maxLength: 254 },
                password: { type: 'string', minLength: 1, maxLength: 1024 },
                name: { type: 'string', minLength: 1, maxLength: 200 },
                email: { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' },
              },
            },
          ],
        },
      },
    },
    async (request, reply) => {
      consoleReply(reply);
      if (request.headers['sec-fetch-site'] === 'cross-site') {
        throw new AppError('cross_site_request', 403, 'cross-site requests are refused');
      }
      const { token } = request.params as { token: string };
      const body = (request.body ?? {}) as {
        username?: string;
        password?: string;
        name?: string;
        email?: string;
      };
      const now = deps.clock();
      // Checked before any password is hashed; checked again, atomically, when it is used.
      const found = await findInvitationByToken(deps.storage.db, token, now);
      if (!found) throw new AppError('not_found', 404, 'no such invitation');
      if (found.invitation.status !== 'pending') {
        throw new AppError('invitation_gone', 410, `this invitation is ${found.invitation.status}`);
      }
      const caller = await deps.callers.resolve(request.headers.cookie);
      if (caller) {
        if (!csrfMatches(caller.secret, request.headers[CSRF_HEADER])) {
          throw new AppError('csrf_token_invalid', 403, `the ${CSRF_HEADER} header is missing or wrong`);
        }
        const actor = `account:${caller.account.username}`;
        await deps.storage.transaction((tx) =>
          acceptInvitation(tx, token, caller.account.id, { actor, now }),
        );
        return reply.send({
          organisation: { id: found.invitation.orgId, name: found.orgName },
          role: found.invitation.role,
          account: { id: caller.account.id, username: caller.account.username },
          created: false,
        });
      }
      if (!body.username || !body.password) {
        throw new AppError(
          'invalid_input',
          400,
          'sign in first, or give a username and a password for a new account',
        );
      }
      const account = await deps.storage.transaction(async (tx) => {
        const created = await accountStore(tx.db, deps.kek).add(
          {
            username: body.username as string,
            password: body.password as string,
            ...(body.name && { name: body.name }),
            ...(body.email && { email: body.email }),
          },
          now,
        );
        const actor = `account:${created.username}`;
        await recordAuditEvent(
          tx,
          {
            actor,
            action: 'account.create',
            targetType: 'account',
            targetId: created.id,
            details: { username: created.username, invitation: found.invitation.id },
          },
          now,
        );
        await acceptInvitation(tx, token, created.id, { actor, now });
        return created;
      });
      return reply.code(201).send({
        organisation: { id: found.invitation.orgId, name: found.orgName },
        role: found.invitation.role,
        account: { id: account.id, username: account.username },
        created: true,
      });
    },
  );
}
