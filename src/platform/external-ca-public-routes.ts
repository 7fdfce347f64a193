import type { FastifyInstance } from 'fastify';
import { type CertificateAuthority, crlDerToPem, externalCaEdgeMaterial } from '../pki/index.ts';
import type { Storage } from '../storage/index.ts';
import { CLIENT_CA_BUNDLE_PATH, EXTERNAL_CRLS_PATH } from './paths.ts';

/**
 * Unauthenticated, for edge kits (`accredit edge export|sync`): the CAs client certificates may chain to (the
 * platform's, then each organisation's registered CA) and the registered CAs' last verified CRLs. An edge then
 * asks the decision point, which scopes each CA to its organisation.
 */
export function registerExternalCaPublicRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; ca: CertificateAuthority },
): void {
  app.get(CLIENT_CA_BUNDLE_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const { certificatePems } = await externalCaEdgeMaterial(deps.storage.db);
    return reply
      .header('content-type', 'application/pem-certificate-chain')
      .header('cache-control', 'no-cache')
      .send([deps.ca.chainPem, ...certificatePems].map((p) => `${p.trim()}\n`).join(''));
  });
  app.get(EXTERNAL_CRLS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const { crlDers } = await externalCaEdgeMaterial(deps.storage.db);
    return reply
      .header('content-type', 'application/x-pem-file')
      .header('cache-control', 'no-cache')
      .send(crlDers.map((der) => crlDerToPem(der)).join(''));
  });
}
