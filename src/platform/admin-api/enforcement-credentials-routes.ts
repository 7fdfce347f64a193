import type { FastifyInstance } from 'fastify';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import {
  ENFORCEMENT_CREDENTIAL_PAGE_KEY_LENGTH,
  issueEnforcementCredential,
  listEnforcementCredentialsPage,
  revokeEnforcementCredential,
} from '../enforcement-feed/enforcement-credential-store.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['enforcement'];
const BASE = '/enforcement-credentials';
const credentialSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

/** Credentials of enforcement points (standalone gateways) for the change feed; thin: the rules are in credentials.ts. */
export function registerEnforcementCredentialRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { onRevoked(id: string): void },
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    BASE,
    {
      schema: {
        tags,
        summary: 'Grant an enforcement point access to the change feed',
        description: 'The token is returned only here; only its SHA-256 is stored.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          201: {
            ...credentialSchema,
            properties: { ...credentialSchema.properties, token: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.body as { name: string };
      const issued = await deps.storage.transaction((tx) =>
        issueEnforcementCredential(tx, name, meta(request.actor)),
      );
      return reply.code(201).header('cache-control', 'no-store').send(issued);
    },
  );
  app.get(
    BASE,
    {
      schema: {
        tags,
        summary: 'List enforcement credentials, newest first (never the tokens)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['active', 'revoked'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: credentialSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as { status?: 'active' | 'revoked'; limit?: string; cursor?: string };
      return listEnforcementCredentialsPage(
        deps.storage.db,
        { status: q.status },
        pageRequest(q, ENFORCEMENT_CREDENTIAL_PAGE_KEY_LENGTH),
      );
    },
  );
  app.delete(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Revoke an enforcement credential: the feed refuses it and drops its open streams',
        params: { type: 'object', required: ['id'], properties: { id: uuidParam } },
        response: { 200: credentialSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const revoked = await deps.storage.transaction((tx) =>
        revokeEnforcementCredential(tx, id, meta(request.actor)),
      );
      options.onRevoked(id);
      return revoked;
    },
  );
}
