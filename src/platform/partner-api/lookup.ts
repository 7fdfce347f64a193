import type { FastifyRequest } from 'fastify';
import { type ApplicationView, getApplication } from '../../directory/index.ts';
import { type CertificateView, getCertificate } from '../../pki/index.ts';
import { AppError, notFound } from '../../shared/app-error.ts';
import type { PartnerDeps } from './deps.ts';

/** Shared pieces of the partner API's route files: object-level lookups and schemas. */
export const tags = ['partner'];

/** The organisation in the path, once the membership hook let the request through. */
export function orgOf(request: FastifyRequest): string {
  const orgId = request.partner?.orgId;
  // The hook answers every request on /organisations/:orgId/… before a handler runs; this is a safety net.
  if (!orgId) throw new AppError('unauthenticated', 401, 'sign in to the console first');
  return orgId;
}

export const metaOf = (deps: PartnerDeps, request: FastifyRequest) => ({
  actor: request.actor,
  now: deps.clock(),
});

/** One of the organisation's applications; another organisation's (or a deleted one) is not found. */
export async function applicationOfOrg(
  deps: PartnerDeps,
  orgId: string,
  clientId: string,
): Promise<ApplicationView> {
  const app = await getApplication(deps.storage.db, clientId, deps.clock());
  if (app.org_id !== orgId) throw notFound('application', clientId);
  return app;
}

/** One of the organisation's certificates; another organisation's is not found. */
export async function certificateOfOrg(
  deps: PartnerDeps,
  orgId: string,
  serial: string,
): Promise<CertificateView> {
  const cert = await getCertificate(deps.storage.db, serial);
  if (cert.org_id !== orgId) throw notFound('certificate', serial);
  return cert;
}

export const orgParams = {
  type: 'object',
  required: ['orgId'],
  properties: { orgId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const clientParams = {
  type: 'object',
  required: ['orgId', 'clientId'],
  properties: {
    orgId: { type: 'string', minLength: 1, maxLength: 64 },
    clientId: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

export const serialParams = {
  type: 'object',
  required: ['orgId', 'serial'],
  properties: {
    orgId: { type: 'string', minLength: 1, maxLength: 64 },
    serial: { type: 'string', pattern: '^[0-9A-Fa-f:]{1,80}$' },
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['orgId', 'id'],
  properties: {
    orgId: { type: 'string', minLength: 1, maxLength: 64 },
    id: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

export const partnerErrors = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  409: { $ref: 'Problem#' },
} as const;
