import type { FastifyInstance } from 'fastify';
import { accountStore } from '../../authorization-server/index.ts';
import {
  listOperatorAccounts,
  listOperatorAccountsPage,
  OPERATOR_ACCOUNT_PAGE_KEY,
  OPERATOR_ROLES,
  type OperatorRole,
  removeOperatorRole,
  setOperatorRole,
} from '../../console/index.ts';
import { notFound } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['operator-accounts'];
const accountParams = {
  type: 'object',
  required: ['accountId'],
  properties: { accountId: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;

/**
 * Which accounts may use the operator console, and how (issue 15): administrators change things, auditors
 * read everything and change nothing. `accountId` is an account id or username of the built-in store.
 */
export function registerOperatorAccountRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { kek: string },
): void {
  const accounts = () => accountStore(deps.storage.db, options.kek);
  const json = async (row: {
    accountId: string;
    role: OperatorRole;
    createdAt: string;
    createdBy: string;
  }) => {
    const account = await accounts().find(row.accountId);
    return {
      account_id: row.accountId,
      username: account?.username ?? null,
      name: account?.name ?? null,
      account_status: account?.status ?? 'removed',
      role: row.role,
      created_at: row.createdAt,
      created_by: row.createdBy,
    };
  };

  app.get(
    '/operator-accounts',
    {
      schema: {
        tags,
        summary: 'Accounts with an operator role, a page at a time (oldest grant first)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { role: { type: 'string', enum: [...OPERATOR_ROLES] }, ...pageQueryProperties },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: { type: 'object', additionalProperties: true } },
              next_cursor: nextCursorSchema,
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as { role?: OperatorRole; limit?: string; cursor?: string };
      const page = await listOperatorAccountsPage(
        deps.storage.db,
        { role: q.role },
        pageRequest(q, OPERATOR_ACCOUNT_PAGE_KEY.length),
      );
      return { items: await Promise.all(page.items.map(json)), next_cursor: page.next_cursor };
    },
  );

  app.put(
    '/operator-accounts/:accountId',
    {
      schema: {
        tags,
        summary: "Grant or change an account's operator role (administrator or auditor)",
        params: accountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: { type: 'string', enum: [...OPERATOR_ROLES] } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const { accountId } = request.params as { accountId: string };
      const { role } = request.body as { role: OperatorRole };
      const account = await accounts().find(accountId);
      if (!account) throw notFound('account', accountId);
      await deps.storage.transaction((tx) =>
        setOperatorRole(tx, account.id, role, { actor: request.actor, now: deps.clock() }),
      );
      const row = (await listOperatorAccounts(deps.storage.db)).find((r) => r.accountId === account.id);
      if (!row) throw notFound('operator account', accountId);
      return json(row);
    },
  );

  app.delete(
    '/operator-accounts/:accountId',
    {
      schema: {
        tags,
        summary: "Take an account's operator role away",
        params: accountParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { accountId } = request.params as { accountId: string };
      const account = await accounts().find(accountId);
      const removed =
        account &&
        (await deps.storage.transaction((tx) =>
          removeOperatorRole(tx, account.id, { actor: request.actor, now: deps.clock() }),
        ));
      if (!removed) throw notFound('operator account', accountId);
      return reply.code(204).send();
    },
  );
}
