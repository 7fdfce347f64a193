import type { FastifyInstance } from 'fastify';
import type { CertificateAuthority } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import { problem, sendProblem } from './http/problem.ts';
import { CA_BUNDLE_PATH, CRL_PATH } from './paths.ts';

/** Unauthenticated: health, the CA bundle partners configure as trust anchors, and the CRL relying parties fetch. */
export function registerPublicRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; ca: CertificateAuthority; clock: Clock },
): void {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get(CA_BUNDLE_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/pem-certificate-chain').send(deps.ca.chainPem),
  );

  app.get(CRL_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const latest = await deps.ca.latestCrl(deps.storage.db);
    if (!latest) return sendProblem(reply, problem(503, 'crl_unavailable', 'no CRL has been published yet'));
    // RFC 5280 §5: DER; relying parties may cache it until nextUpdate.
    const maxAge = Math.max(
      0,
      Math.floor((new Date(latest.nextUpdate).getTime() - deps.clock().getTime()) / 1000),
    );
    return reply
      .header('content-type', 'application/pkix-crl')
      .header('cache-control', `public, max-age=${Math.min(maxAge, 3600)}`)
      .header('last-modified', new Date(latest.thisUpdate).toUTCString())
      .send(latest.der);
  });
}
