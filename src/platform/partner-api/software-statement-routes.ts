import type { FastifyInstance } from 'fastify';
import {
  issueSoftwareStatement,
  listSoftwareStatementsPage,
  organisationLiveAt,
  SOFTWARE_STATEMENT_LIFETIME,
  SOFTWARE_STATEMENT_PAGE_KEY_LENGTH,
} from '../../directory/index.ts';
import { certificateStore } from '../../pki/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import {
  issuedSoftwareStatementSchema,
  type StatementQuery,
  softwareStatementSchema,
  statementStatusFilter,
} from '../admin-api/schemas.ts';
import type { PartnerDeps } from './deps.ts';
import { applicationOfOrg, metaOf, orgOf, orgParams, partnerErrors, tags } from './lookup.ts';

/**
 * Software statements (RFC 7591 §2.3) for dynamic registration: a partner issues them for its own
 * organisation's production applications only — a client registered with one is a production client, so the
 * go-live gate applies as it does to production applications.
 */
export function registerPartnerSoftwareStatementRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  app.get(
    '/organisations/:orgId/software-statements',
    {
      schema: {
        tags,
        summary: 'The organisation’s software statements, newest first (never the JWTs)',
        params: orgParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            software_id: { type: 'string', minLength: 1, maxLength: 255 },
            status: statementStatusFilter,
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: softwareStatementSchema },
              next_cursor: nextCursorSchema,
            },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const q = request.query as StatementQuery;
      // The organisation comes from the path the caller is authorised for, never from the query.
      return listSoftwareStatementsPage(
        deps.storage.db,
        { orgId, softwareId: q.software_id, status: q.status },
        pageRequest(q, SOFTWARE_STATEMENT_PAGE_KEY_LENGTH),
        deps.clock(),
      );
    },
  );

  app.post(
    '/organisations/:orgId/software-statements',
    {
      schema: {
        tags,
        summary: 'Issue a software statement for one of the organisation’s production applications',
        description:
          'The signed JWT is returned only here. software_id is the client_id of the application it describes; the go-live gate applies (409 go_live_required) and sandbox applications get none (409 production_application_required).',
        params: orgParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['software_id'],
          properties: {
            software_id: { type: 'string', minLength: 1, maxLength: 255 },
            lifetime_seconds: {
              type: 'integer',
              minimum: SOFTWARE_STATEMENT_LIFETIME.min,
              maximum: SOFTWARE_STATEMENT_LIFETIME.max,
              default: SOFTWARE_STATEMENT_LIFETIME.default,
            },
          },
        },
        response: { 201: issuedSoftwareStatementSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const statements = deps.statements;
      if (!statements) throw new AppError('not_available', 404, 'software statements are not available');
      const orgId = orgOf(request);
      const body = request.body as { software_id: string; lifetime_seconds?: number };
      const software = await applicationOfOrg(deps, orgId, body.software_id);
      if (software.environment !== 'production') {
        throw new AppError(
          'production_application_required',
          409,
          'software statements are for production applications: dynamic registration makes production clients',
        );
      }
      if ((await organisationLiveAt(deps.storage.db, orgId)) === null) {
        throw new AppError('go_live_required', 409, 'production needs the go-live gate');
      }
      const signer = await statements.signer();
      const issued = await deps.storage.transaction((tx) =>
        issueSoftwareStatement(
          tx,
          {
            softwareId: software.client_id,
            issuer: statements.issuer,
            signer,
            lifetimeSeconds: body.lifetime_seconds,
            certificateSubject: (clientId) => certificateStore(tx.db).newestActiveSubject(clientId),
          },
          metaOf(deps, request),
        ),
      );
      return reply.code(201).header('cache-control', 'no-store').send(issued);
    },
  );
}
