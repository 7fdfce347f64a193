import type { FastifyInstance } from 'fastify';
import {
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
  listFederationKeys,
  revokeFederationKey,
  rotateFederationKey,
} from '../../../federation/index.ts';
import { KEY_ALGORITHMS } from '../../../pki/index.ts';
import type { AdminDeps } from '../deps.ts';
import { errorResponses, federationKeySchema } from '../schemas.ts';
import type { FederationAdminDeps } from './federation-admin-deps.ts';
import { kidParams, tags } from './request-schemas.ts';

/** GET /federation/keys */
function listFederationKeysRoute(app: FastifyInstance, deps: AdminDeps, fed: FederationAdminDeps): void {
  app.get(
    '/federation/keys',
    {
      schema: {
        tags,
        summary: 'Federation signing keys, newest first: active, retired (published during overlap), revoked',
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: federationKeySchema } } },
        },
      },
    },
    async () => ({
      items: await listFederationKeys(deps.storage.db, deps.clock(), fed.statementLifetimeSeconds),
    }),
  );
}

/** POST /federation/keys/rotate */
function rotateFederationKeyRoute(app: FastifyInstance, deps: AdminDeps, fed: FederationAdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    '/federation/keys/rotate',
    {
      schema: {
        tags,
        summary:
          'New active federation key; the old one is retired and stays published for one statement lifetime',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { alg: { type: 'string', enum: [...KEY_ALGORITHMS] } },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              active: federationKeySchema,
              retired: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const alg = (request.body as { alg?: string } | undefined)?.alg;
      const rotated = await deps.storage.transaction((tx) =>
        rotateFederationKey(
          tx,
          { kek: fed.kek, alg, statementLifetimeSeconds: fed.statementLifetimeSeconds },
          meta(request.actor),
        ),
      );
      return reply.code(201).send(rotated);
    },
  );
}

/** POST /federation/keys/:kid/revoke */
function revokeFederationKeyRoute(app: FastifyInstance, deps: AdminDeps, fed: FederationAdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    '/federation/keys/:kid/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a retired federation key (historical keys then report it revoked)',
        params: kidParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: [...KEY_REVOCATION_REASONS] } },
        },
        response: { 200: federationKeySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { kid } = request.params as { kid: string };
      const reason = ((request.body as { reason?: string } | undefined)?.reason ??
        'unspecified') as KeyRevocationReason;
      return deps.storage.transaction((tx) =>
        revokeFederationKey(
          tx,
          kid,
          reason,
          { statementLifetimeSeconds: fed.statementLifetimeSeconds },
          meta(request.actor),
        ),
      );
    },
  );
}

/** The federation key routes: listing, rotating and revoking the platform's federation signing keys. */
export function registerFederationKeyRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: FederationAdminDeps,
): void {
  listFederationKeysRoute(app, deps, fed);
  rotateFederationKeyRoute(app, deps, fed);
  revokeFederationKeyRoute(app, deps, fed);
}
