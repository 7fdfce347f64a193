import type { FastifyInstance } from 'fastify';
import { revokeTrustMarkEndingRegistration } from '../../../authorization-server/index.ts';
import {
  getTrustMark,
  issueTrustMark,
  listTrustMarksPage,
  TRUST_MARK_PAGE_KEY_LENGTH,
} from '../../../federation/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../../shared/page-cursor.ts';
import type { AdminDeps } from '../deps.ts';
import { errorResponses, reasonBody, trustMarkSchema } from '../schemas.ts';
import type { FederationAdminDeps } from './federation-admin-deps.ts';
import { idParams, tags } from './request-schemas.ts';

/** GET /federation/trust-marks */
function listTrustMarksRoute(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/federation/trust-marks',
    {
      schema: {
        tags,
        summary: 'List the trust marks the platform issued',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            sub: { type: 'string', maxLength: 2048 },
            trust_mark_type: { type: 'string', maxLength: 2048 },
            status: { type: 'string', enum: ['active', 'revoked'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: trustMarkSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        sub?: string;
        trust_mark_type?: string;
        status?: 'active' | 'revoked';
        limit?: string;
        cursor?: string;
      };
      return listTrustMarksPage(
        deps.storage.db,
        { sub: q.sub, trustMarkType: q.trust_mark_type, status: q.status },
        pageRequest(q, TRUST_MARK_PAGE_KEY_LENGTH),
      );
    },
  );
}

/** POST /federation/trust-marks */
function issueTrustMarkRoute(app: FastifyInstance, deps: AdminDeps, fed: FederationAdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  app.post(
    '/federation/trust-marks',
    {
      schema: {
        tags,
        summary: 'Issue a trust mark of a configured type to an active subordinate',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['trust_mark_type', 'sub'],
          properties: {
            trust_mark_type: { type: 'string', minLength: 1, maxLength: 2048 },
            sub: { type: 'string', minLength: 1, maxLength: 2048 },
            expires_in: { type: 'integer', minimum: 60 },
          },
        },
        response: { 201: trustMarkSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { trust_mark_type: string; sub: string; expires_in?: number };
      const issued = await deps.storage.transaction((tx) =>
        issueTrustMark(
          tx,
          { trustMarkType: body.trust_mark_type, sub: body.sub, expiresIn: body.expires_in },
          fed.trustMarkTypes,
          meta(request.actor),
        ),
      );
      return reply.code(201).header('location', `/admin/v1/federation/trust-marks/${issued.id}`).send(issued);
    },
  );
}

/** GET /federation/trust-marks/:id */
function getTrustMarkRoute(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/federation/trust-marks/:id',
    {
      schema: {
        tags,
        summary: 'Read a trust mark',
        params: idParams,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) => getTrustMark(deps.storage.db, (request.params as { id: string }).id),
  );
}

// A revoked Trust Mark may have been what granted a client its roles: its registration ends at once (§12.3).
const revokeVia = (deps: AdminDeps, id: string, actor: string, reason: string | undefined) =>
  deps.storage.transaction((tx) =>
    revokeTrustMarkEndingRegistration(tx, id, { actor, now: deps.clock(), reason }),
  );

/** DELETE /federation/trust-marks/:id */
function deleteTrustMarkRoute(app: FastifyInstance, deps: AdminDeps): void {
  app.delete(
    '/federation/trust-marks/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a trust mark: its status becomes revoked at once',
        params: idParams,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) => revokeVia(deps, (request.params as { id: string }).id, request.actor, undefined),
  );
}

/** POST /federation/trust-marks/:id/revoke, with a reason */
function revokeTrustMarkRoute(app: FastifyInstance, deps: AdminDeps): void {
  app.post(
    '/federation/trust-marks/:id/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a trust mark, with a reason for the audit log (same as DELETE)',
        params: idParams,
        body: reasonBody,
        response: { 200: trustMarkSchema, ...errorResponses },
      },
    },
    async (request) =>
      revokeVia(
        deps,
        (request.params as { id: string }).id,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );
}

/** The Trust Mark routes: the marks the platform issued, issuing and revoking them. */
export function registerTrustMarkRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: FederationAdminDeps,
): void {
  listTrustMarksRoute(app, deps);
  issueTrustMarkRoute(app, deps, fed);
  getTrustMarkRoute(app, deps);
  deleteTrustMarkRoute(app, deps);
  revokeTrustMarkRoute(app, deps);
}
