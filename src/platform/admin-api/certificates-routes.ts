import type { FastifyInstance } from 'fastify';
import {
  CERTIFICATE_PAGE_KEY_LENGTH,
  getCertificate,
  listCertificatesPage,
  REVOCATION_REASONS,
} from '../../pki/index.ts';
import { pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { certificateSchema, errorResponses } from './schemas.ts';

const tags = ['certificates'];
const serialParams = {
  type: 'object',
  required: ['serial'],
  properties: { serial: { type: 'string', pattern: '^[0-9A-Fa-f:]{1,80}$' } },
} as const;

export function registerCertificateRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.post(
    '/applications/:clientId/certificates',
    {
      schema: {
        tags,
        summary:
          'Issue a transport certificate from a PKCS#10 CSR; the subject comes from the directory, never the CSR',
        params: {
          type: 'object',
          required: ['clientId'],
          properties: { clientId: { type: 'string', maxLength: 255 } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['csr'],
          properties: { csr: { type: 'string', minLength: 1, maxLength: 16384 } },
        },
        response: { 201: certificateSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { clientId } = request.params as { clientId: string };
      const { csr } = request.body as { csr: string };
      const issued = await deps.storage.transaction((tx) =>
        deps.ca.issue(tx, { clientId, csrPem: csr }, meta(request.actor)),
      );
      return reply.code(201).header('location', `/admin/v1/certificates/${issued.serial}`).send(issued);
    },
  );

  app.get(
    '/certificates',
    {
      schema: {
        tags,
        summary:
          'List issued certificates (newest first); with expiring_within_days, the active ones ending by then, soonest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            client_id: { type: 'string', maxLength: 255 },
            org_id: { type: 'string', maxLength: 64 },
            status: { type: 'string', enum: ['active', 'revoked'] },
            expiring_within_days: { type: 'string', pattern: '^[0-9]{1,4}$' },
            ...pageQueryProperties,
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as {
        client_id?: string;
        org_id?: string;
        status?: 'active' | 'revoked';
        expiring_within_days?: string;
        limit?: string;
        cursor?: string;
      };
      const days = q.expiring_within_days === undefined ? undefined : Number(q.expiring_within_days);
      const horizon =
        days === undefined ? undefined : new Date(deps.clock().getTime() + days * 86_400_000).toISOString();
      const filter = {
        clientId: q.client_id,
        orgId: q.org_id,
        // "Expiring soon" is about certificates still in use: revoked ones are not listed unless asked for.
        status: q.status ?? (days === undefined ? undefined : 'active'),
        notAfterBefore: horizon,
        byNotAfter: days !== undefined,
      };
      const page = pageRequest(q, CERTIFICATE_PAGE_KEY_LENGTH);
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'certificates',
          filter,
          page,
          now: deps.clock().toISOString(),
        });
        return reply.type('application/json; charset=utf-8').send(json);
      }
      return listCertificatesPage(deps.storage.db, filter, page);
    },
  );

  app.get(
    '/certificates/:serial',
    {
      schema: {
        tags,
        summary: 'Read a certificate',
        params: serialParams,
        response: { 200: certificateSchema, ...errorResponses },
      },
    },
    async (request) => getCertificate(deps.storage.db, (request.params as { serial: string }).serial),
  );

  app.post(
    '/certificates/:serial/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke with an RFC 5280 reason; the new CRL is published in the same transaction',
        params: serialParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: Object.keys(REVOCATION_REASONS) } },
        },
        response: { 200: certificateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { serial } = request.params as { serial: string };
      const reason = (request.body as { reason?: string } | undefined)?.reason ?? 'unspecified';
      return deps.storage.transaction((tx) => deps.ca.revoke(tx, serial, reason, meta(request.actor)));
    },
  );
}
