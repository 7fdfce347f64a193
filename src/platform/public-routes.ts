import type { FastifyInstance } from 'fastify';
import type { CaLevel, CertificateAuthority } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import { problem, sendProblem } from './http/problem.ts';
import { CA_BUNDLE_PATH, CRL_PATH, ROOT_CRL_PATH } from './paths.ts';

const CRL_PATHS: Record<CaLevel, string> = { issuing: CRL_PATH, root: ROOT_CRL_PATH };

/**
 * Unauthenticated: health, the CA bundle partners configure as trust anchors, and the CRL of each CA level
 * relying parties fetch (nginx and `openssl verify -crl_check_all` want one for every level of the chain).
 */
export function registerPublicRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; ca: CertificateAuthority; clock: Clock },
): void {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get(CA_BUNDLE_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/pem-certificate-chain').send(deps.ca.chainPem),
  );

  for (const [level, path] of Object.entries(CRL_PATHS) as Array<[CaLevel, string]>) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      const latest = await deps.ca.latestCrl(deps.storage.db, level);
      if (!latest)
        return sendProblem(reply, problem(503, 'crl_unavailable', 'no CRL has been published yet'));
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
}
