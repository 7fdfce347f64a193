import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { organisationLiveAt } from '../../directory/index.ts';
import { CERTIFICATE_PAGE_KEY_LENGTH, type CertificateView, listCertificatesPage } from '../../pki/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { certificateSchema } from '../admin-api/schemas.ts';
import { goLiveRequired } from './application-routes.ts';
import type { PartnerDeps } from './deps.ts';
import {
  applicationOfOrg,
  certificateOfOrg,
  clientParams,
  metaOf,
  orgOf,
  partnerErrors,
  serialParams,
  tags,
} from './lookup.ts';

/** The reasons a partner may give when it revokes its own certificate (RFC 5280 §5.3.1). */
export const PARTNER_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
] as const;

const issuedSchema = {
  type: 'object',
  properties: {
    ...certificateSchema.properties,
    ca_bundle_pem: { type: 'string', description: 'the platform CA chain: issuing CA(s) and root' },
  },
} as const;

const { certificate_pem: _pem, ...listedProperties } = certificateSchema.properties;
const listedSchema = { type: 'object', properties: listedProperties } as const;

const csrBody = {
  type: 'object',
  additionalProperties: false,
  required: ['csr'],
  properties: {
    csr: { type: 'string', minLength: 1, maxLength: 16384, description: 'PKCS#10 CSR, PEM' },
  },
} as const;

const PEM_TYPE = 'application/x-pem-file';

/** Certificates of the organisation's applications: issue from a CSR, read, download, renew, revoke. */
export function registerPartnerCertificateRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  const withBundle = (cert: CertificateView) => ({ ...cert, ca_bundle_pem: deps.ca.chainPem });
  const pemOf = (cert: CertificateView) => `${cert.certificate_pem.trim()}\n${deps.ca.chainPem.trim()}\n`;
  // Production credentials only once the organisation passed the go-live gate (docs/console.md).
  const assertMayIssue = async (orgId: string, environment: string) => {
    if (environment === 'production' && (await organisationLiveAt(deps.storage.db, orgId)) === null) {
      throw goLiveRequired();
    }
  };

  app.get(
    '/organisations/:orgId/applications/:clientId/certificates',
    {
      schema: {
        tags,
        summary: 'The application’s certificates, newest first',
        params: clientParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['active', 'revoked'] }, ...pageQueryProperties },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: listedSchema }, next_cursor: nextCursorSchema },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      const q = request.query as { status?: 'active' | 'revoked'; limit?: string; cursor?: string };
      await applicationOfOrg(deps, orgId, clientId);
      return listCertificatesPage(
        deps.storage.db,
        { clientId, orgId, status: q.status },
        pageRequest(q, CERTIFICATE_PAGE_KEY_LENGTH),
      );
    },
  );

  app.post(
    '/organisations/:orgId/applications/:clientId/certificates',
    {
      schema: {
        tags,
        summary:
          'Issue a certificate from a PKCS#10 CSR; the subject comes from the directory, never the CSR',
        description:
          'Only the CSR is sent: the private key stays with the partner. The answer carries the certificate and the CA bundle to verify it against.',
        params: clientParams,
        body: csrBody,
        response: { 201: issuedSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const { clientId } = request.params as { clientId: string };
      const { csr } = request.body as { csr: string };
      const application = await applicationOfOrg(deps, orgId, clientId);
      await assertMayIssue(orgId, application.environment);
      const issued = await deps.storage.transaction((tx) =>
        deps.ca.issue(tx, { clientId, csrPem: csr }, metaOf(deps, request)),
      );
      return reply
        .code(201)
        .header('location', `/partner/v1/organisations/${orgId}/certificates/${issued.serial}`)
        .send(withBundle(issued));
    },
  );

  const readOne = async (request: FastifyRequest, reply: FastifyReply, pem: boolean) => {
    const { serial } = request.params as { serial: string };
    const cert = await certificateOfOrg(deps, orgOf(request), serial);
    if (pem) {
      return reply
        .header('content-type', PEM_TYPE)
        .header('content-disposition', `attachment; filename="${cert.serial}.pem"`)
        .send(pemOf(cert));
    }
    return withBundle(cert);
  };

  app.get(
    '/organisations/:orgId/certificates/:serial',
    {
      schema: {
        tags,
        summary:
          'One certificate (JSON), or with Accept: application/x-pem-file the certificate and CA chain',
        params: serialParams,
        response: { 200: issuedSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const accept = String(request.headers.accept ?? '');
      return readOne(request, reply, accept.includes(PEM_TYPE) && !accept.includes('application/json'));
    },
  );

  app.get(
    '/organisations/:orgId/certificates/:serial/pem',
    {
      schema: {
        tags,
        summary: 'The certificate followed by the CA chain, PEM',
        params: serialParams,
        produces: [PEM_TYPE],
        response: { 200: { type: 'string' }, ...partnerErrors },
      },
    },
    async (request, reply) => readOne(request, reply, true),
  );

  app.post(
    '/organisations/:orgId/certificates/:serial/renew',
    {
      schema: {
        tags,
        summary:
          'Renew (rekey) from a new CSR: the current certificate is superseded per the rotation policy',
        params: serialParams,
        body: csrBody,
        response: { 201: issuedSchema, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const { serial } = request.params as { serial: string };
      const { csr } = request.body as { csr: string };
      const current = await certificateOfOrg(deps, orgId, serial);
      const application = await applicationOfOrg(deps, orgId, current.client_id);
      await assertMayIssue(orgId, application.environment);
      const issued = await deps.storage.transaction((tx) =>
        deps.ca.renew(tx, { serial: current.serial, csrPem: csr }, metaOf(deps, request)),
      );
      return reply
        .code(201)
        .header('location', `/partner/v1/organisations/${orgId}/certificates/${issued.serial}`)
        .send(withBundle(issued));
    },
  );

  app.post(
    '/organisations/:orgId/certificates/:serial/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a certificate; the new CRL is published at once',
        params: serialParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: [...PARTNER_REVOCATION_REASONS] } },
        },
        response: { 200: issuedSchema, ...partnerErrors },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const { serial } = request.params as { serial: string };
      const reason = (request.body as { reason?: string } | undefined)?.reason ?? 'unspecified';
      const current = await certificateOfOrg(deps, orgId, serial);
      const revoked = await deps.storage.transaction((tx) =>
        deps.ca.revoke(tx, current.serial, reason, metaOf(deps, request)),
      );
      return withBundle(revoked);
    },
  );
}
