import type { FastifyInstance } from 'fastify';
import {
  getInitialAccessToken,
  INITIAL_ACCESS_TOKEN_LIFETIME,
  INITIAL_ACCESS_TOKEN_PAGE_KEY_LENGTH,
  INITIAL_ACCESS_TOKEN_USES,
  issueInitialAccessToken,
  listInitialAccessTokensPage,
  revokeInitialAccessToken,
} from '../../authorization-server/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import {
  errorResponses,
  initialAccessTokenSchema,
  issuedInitialAccessTokenSchema,
  reasonBody,
  uuidParam,
} from './schemas.ts';

/** What the initial access token routes need beyond the common dependencies. */
export interface InitialAccessTokenAdminDeps {
  /** `registration.allowInitialAccessTokens`: without it the registration endpoint ignores these tokens. */
  enabled: boolean;
}

const tags = ['registration'];
const BASE = '/registration/initial-access-tokens';
const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;

export function registerInitialAccessTokenRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: InitialAccessTokenAdminDeps,
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.post(
    BASE,
    {
      schema: {
        tags,
        summary: 'Issue an initial access token (RFC 7591 §3) for an organisation',
        description:
          'A bearer token the organisation registers clients with at the registration endpoint instead of a software statement, each client with at most the given roles, until it expires or its uses run out. Returned only here; stored as its SHA-256. Refused with 409 unless registration.allowInitialAccessTokens is set.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['org_id', 'roles'],
          properties: {
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            roles: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              items: { type: 'string', minLength: 1, maxLength: 100 },
            },
            expires_in_seconds: {
              type: 'integer',
              minimum: INITIAL_ACCESS_TOKEN_LIFETIME.min,
              maximum: INITIAL_ACCESS_TOKEN_LIFETIME.max,
              default: INITIAL_ACCESS_TOKEN_LIFETIME.default,
            },
            max_uses: {
              type: 'integer',
              minimum: INITIAL_ACCESS_TOKEN_USES.min,
              maximum: INITIAL_ACCESS_TOKEN_USES.max,
              default: INITIAL_ACCESS_TOKEN_USES.default,
            },
          },
        },
        response: { 201: issuedInitialAccessTokenSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      // A token the registration endpoint would ignore is a trap for the partner it is handed to.
      if (!options.enabled) {
        throw new AppError(
          'initial_access_tokens_disabled',
          409,
          'initial access tokens are not accepted by the registration endpoint: set registration.allowInitialAccessTokens (ACCREDIT_REGISTRATION_ALLOW_IAT=true) first',
        );
      }
      const body = request.body as {
        org_id: string;
        roles: string[];
        expires_in_seconds?: number;
        max_uses?: number;
      };
      const issued = await deps.storage.transaction((tx) =>
        issueInitialAccessToken(
          tx,
          {
            orgId: body.org_id,
            roles: body.roles,
            expiresInSeconds: body.expires_in_seconds,
            maxUses: body.max_uses,
          },
          meta(request.actor),
        ),
      );
      return reply
        .code(201)
        .header('location', `/admin/v1${BASE}/${encodeURIComponent(issued.id)}`)
        .header('cache-control', 'no-store')
        .send(issued);
    },
  );

  app.get(
    BASE,
    {
      schema: {
        tags,
        summary: 'List initial access tokens, newest first (never the tokens)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            status: { type: 'string', enum: ['active', 'expired', 'exhausted', 'revoked'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: initialAccessTokenSchema },
              next_cursor: nextCursorSchema,
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        org_id?: string;
        status?: 'active' | 'expired' | 'exhausted' | 'revoked';
        limit?: string;
        cursor?: string;
      };
      return listInitialAccessTokensPage(
        deps.storage.db,
        { orgId: q.org_id, status: q.status },
        pageRequest(q, INITIAL_ACCESS_TOKEN_PAGE_KEY_LENGTH),
        deps.clock(),
      );
    },
  );

  app.get(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Read an initial access token’s record',
        params: idParams,
        response: { 200: initialAccessTokenSchema, ...errorResponses },
      },
    },
    async (request) =>
      getInitialAccessToken(deps.storage.db, (request.params as { id: string }).id, deps.clock()),
  );

  const revoke = async (id: string, actor: string, reason: string | undefined) =>
    (await deps.storage.transaction((tx) => revokeInitialAccessToken(tx, id, { ...meta(actor), reason })))
      .token;

  app.delete(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Revoke an initial access token: registration refuses it from now on',
        description: 'Clients already registered with it stay registered; suspend or delete them separately.',
        params: idParams,
        response: { 200: initialAccessTokenSchema, ...errorResponses },
      },
    },
    async (request) => revoke((request.params as { id: string }).id, request.actor, undefined),
  );
  app.post(
    `${BASE}/:id/revoke`,
    {
      schema: {
        tags,
        summary: 'Revoke an initial access token, with a reason for the audit log (same as DELETE)',
        params: idParams,
        body: reasonBody,
        response: { 200: initialAccessTokenSchema, ...errorResponses },
      },
    },
    async (request) =>
      revoke(
        (request.params as { id: string }).id,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );
}
