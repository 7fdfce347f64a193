import type { FastifyInstance } from 'fastify';
import {
  getSoftwareStatement,
  issueSoftwareStatement,
  listSoftwareStatementsPage,
  revokeSoftwareStatement,
  SOFTWARE_STATEMENT_LIFETIME,
  SOFTWARE_STATEMENT_PAGE_KEY_LENGTH,
  type SoftwareStatementSigner,
} from '../../directory/index.ts';
import { certificateStore } from '../../pki/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import {
  errorResponses,
  issuedSoftwareStatementSchema,
  reasonBody,
  type StatementQuery,
  softwareStatementSchema,
  statementStatusFilter,
} from './schemas.ts';

/** What the software statement routes need beyond the common dependencies. */
export interface SoftwareStatementAdminDeps {
  /** The `iss` of every statement: the directory's issuer identifier, `<publicUrl>/directory`. */
  issuer: string;
  signer: () => Promise<SoftwareStatementSigner>;
}

const tags = ['software statements'];
const jtiParams = {
  type: 'object',
  required: ['jti'],
  properties: { jti: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export function registerSoftwareStatementRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  statements: SoftwareStatementAdminDeps,
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.post(
    '/software-statements',
    {
      schema: {
        tags,
        summary: 'Issue a software statement (RFC 7591 §2.3) for a manually registered application',
        description:
          'The statement is a signed JWT carrying the application’s organisation, roles and scopes, keys, redirect URIs and certificate subject; a client registers with it once (RFC 7591). It is returned only here.',
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
        response: { 201: issuedSoftwareStatementSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { software_id: string; lifetime_seconds?: number };
      const signer = await statements.signer();
      const issued = await deps.storage.transaction((tx) =>
        issueSoftwareStatement(
          tx,
          {
            softwareId: body.software_id,
            issuer: statements.issuer,
            signer,
            lifetimeSeconds: body.lifetime_seconds,
            certificateSubject: (clientId) => certificateStore(tx.db).newestActiveSubject(clientId),
          },
          meta(request.actor),
        ),
      );
      return reply
        .code(201)
        .header('location', `/admin/v1/software-statements/${encodeURIComponent(issued.jti)}`)
        .header('cache-control', 'no-store')
        .send(issued);
    },
  );

  app.get(
    '/software-statements',
    {
      schema: {
        tags,
        summary: 'List issued software statements, newest first (never the JWTs)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            software_id: { type: 'string', minLength: 1, maxLength: 255 },
            org_id: { type: 'string', minLength: 1, maxLength: 64 },
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
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as StatementQuery & { org_id?: string };
      return listSoftwareStatementsPage(
        deps.storage.db,
        { softwareId: q.software_id, orgId: q.org_id, status: q.status },
        pageRequest(q, SOFTWARE_STATEMENT_PAGE_KEY_LENGTH),
        deps.clock(),
      );
    },
  );

  app.get(
    '/software-statements/:jti',
    {
      schema: {
        tags,
        summary: 'Read a software statement’s record',
        params: jtiParams,
        response: { 200: softwareStatementSchema, ...errorResponses },
      },
    },
    async (request) => getSoftwareStatement(deps.storage.db, (request.params as { jti: string }).jti),
  );

  const revoke = async (jti: string, actor: string, reason: string | undefined) =>
    (await deps.storage.transaction((tx) => revokeSoftwareStatement(tx, jti, { ...meta(actor), reason })))
      .statement;

  app.delete(
    '/software-statements/:jti',
    {
      schema: {
        tags,
        summary: 'Revoke an unused software statement: registration refuses it from now on',
        params: jtiParams,
        response: { 200: softwareStatementSchema, ...errorResponses },
      },
    },
    async (request) => revoke((request.params as { jti: string }).jti, request.actor, undefined),
  );
  app.post(
    '/software-statements/:jti/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke an unused software statement, with a reason for the audit log (same as DELETE)',
        params: jtiParams,
        body: reasonBody,
        response: { 200: softwareStatementSchema, ...errorResponses },
      },
    },
    async (request) =>
      revoke(
        (request.params as { jti: string }).jti,
        request.actor,
        (request.body as { reason?: string } | undefined)?.reason,
      ),
  );
}
