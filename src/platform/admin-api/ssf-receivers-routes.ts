import type { FastifyInstance } from 'fastify';
import {
  issueSsfReceiver,
  listSsfReceiversPage,
  revokeSsfReceiver,
  SSF_RECEIVER_PAGE_KEY_LENGTH,
} from '../../audit/index.ts';
import { getOrganisation } from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['shared-signals'];
const BASE = '/ssf/receivers';
const receiverSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    org_id: { type: ['string', 'null'] },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

/** Operators grant, list and revoke Shared Signals receivers; thin: the rules are in audit/shared-signals. */
export function registerSsfReceiverRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    BASE,
    {
      schema: {
        tags,
        summary: 'Grant a Shared Signals receiver (optionally scoped to one organisation)',
        description: 'The bearer token is returned only here; only its SHA-256 is stored.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          201: { ...receiverSchema, properties: { ...receiverSchema.properties, token: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { name, org_id } = request.body as { name: string; org_id?: string };
      const issued = await deps.storage.transaction(async (tx) => {
        // The organisation must exist: a scope nobody has would silently receive nothing.
        if (org_id !== undefined) await getOrganisation(tx.db, org_id);
        return issueSsfReceiver(tx, { name, orgId: org_id ?? null }, meta(request.actor));
      });
      return reply.code(201).header('cache-control', 'no-store').send(issued);
    },
  );
  app.get(
    BASE,
    {
      schema: {
        tags,
        summary: 'List Shared Signals receivers, newest first (never the tokens)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
            status: { type: 'string', enum: ['active', 'revoked'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: receiverSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        org_id?: string;
        status?: 'active' | 'revoked';
        limit?: string;
        cursor?: string;
      };
      return listSsfReceiversPage(
        deps.storage.db,
        { orgId: q.org_id, status: q.status },
        pageRequest(q, SSF_RECEIVER_PAGE_KEY_LENGTH),
      );
    },
  );
  app.delete(
    `${BASE}/:id`,
    {
      schema: {
        tags,
        summary: 'Revoke a Shared Signals receiver: its token is refused, its streams disabled and emptied',
        params: { type: 'object', required: ['id'], properties: { id: uuidParam } },
        response: { 200: receiverSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return deps.storage.transaction((tx) => revokeSsfReceiver(tx, id, meta(request.actor)));
    },
  );
}
