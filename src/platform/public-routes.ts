import type { FastifyInstance, FastifyReply } from 'fastify';
import { type CaRef, type CertificateAuthority, crlDerToPem } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import { problem, sendProblem } from './http/problem.ts';
import { CA_BUNDLE_PATH, CRL_CHAIN_PATH, CRL_PATH, ISSUING_CRL_ROUTE, ROOT_CRL_PATH } from './paths.ts';

const CA_ID_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.crl$/;

/**
 * Unauthenticated: health, the CA bundle partners configure as trust anchors, and the CRL of each CA
 * relying parties fetch (nginx and `openssl verify -crl_check_all` want one for every level of the chain):
 * the root's, the original issuing CA's at its original path, and every later generation's at its own.
 */
export function registerPublicRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; ca: CertificateAuthority; clock: Clock },
): void {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get(CA_BUNDLE_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/pem-certificate-chain').send(deps.ca.chainPem),
  );

  async function sendCrl(reply: FastifyReply, which: CaRef | undefined) {
    const latest = which ? await deps.ca.latestCrl(deps.storage.db, which) : undefined;
    if (!which) return sendProblem(reply, problem(404, 'not_found', 'no such CA'));
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
  }

  // One document for edges: nginx `ssl_crl` and Envoy want a CRL for every CA of every chain they accept.
  app.get(CRL_CHAIN_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const refs: CaRef[] = ['root', ...deps.ca.trustedIssuing.map((c) => ({ id: c.id }))];
    const pems: string[] = [];
    for (const ref of refs) {
      const latest = await deps.ca.latestCrl(deps.storage.db, ref);
      if (!latest)
        return sendProblem(reply, problem(503, 'crl_unavailable', 'a CA has not published a CRL yet'));
      pems.push(crlDerToPem(latest.der));
    }
    return reply
      .header('content-type', 'application/x-pem-file')
      .header('cache-control', 'no-cache')
      .send(pems.join(''));
  });

  app.get(ROOT_CRL_PATH, { schema: { hide: true } }, (_request, reply) => sendCrl(reply, 'root'));
  app.get(CRL_PATH, { schema: { hide: true } }, (_request, reply) =>
    sendCrl(reply, deps.ca.issuingCrlRef('original')),
  );
  app.get<{ Params: { file: string } }>(ISSUING_CRL_ROUTE, { schema: { hide: true } }, (request, reply) => {
    const id = CA_ID_FILE.exec(request.params.file)?.[1];
    return sendCrl(reply, id === undefined ? undefined : deps.ca.issuingCrlRef({ id }));
  });
}
