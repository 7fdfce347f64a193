import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['pki'];

const issuingCaSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subject: { type: 'string' },
    serial: { type: 'string' },
    previous_serial: { type: 'string' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
    crl_distribution_point: { type: 'string' },
    certificate_pem: { type: 'string' },
  },
} as const;

/** Replaces a file in one step: readers see the old bundle or the new one, never half of it. */
function replaceFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o644 });
  renameSync(temp, path);
}

/** The platform's own CA certificates; thin: the rules are in the PKI's CertificateAuthority. */
export function registerCaRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { caBundleFile: string },
): void {
  app.post(
    '/ca/issuing/reissue',
    {
      schema: {
        tags,
        summary:
          'Re-issue the issuing CA certificate (same key, subject and validity) with the root CRL distribution point',
        description:
          'Every partner certificate keeps verifying. The new certificate replaces the old one in storage, in the CA bundle file and in what /pki/ca-bundle.pem serves; clients and edges should fetch the bundle again.',
        response: { 200: issuingCaSchema, ...errorResponses },
      },
    },
    async (request) => {
      const reissued = await deps.storage.transaction((tx) =>
        deps.ca.reissueIssuing(tx, { actor: request.actor, now: deps.clock() }),
      );
      await deps.ca.reload(deps.storage.db);
      replaceFile(options.caBundleFile, deps.ca.chainPem);
      request.log.info(
        { serial: reissued.serial, previous: reissued.previous_serial },
        'issuing CA re-issued',
      );
      return reissued;
    },
  );
}
