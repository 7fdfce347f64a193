import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CaRef, CertificateAuthority } from '../pki/index.ts';
import {
  answerOcspHttp,
  MAX_OCSP_REQUEST_BYTES,
  type OcspHttpAnswer,
  OcspResponder,
  type OcspResponseStatus,
} from '../pki/ocsp/index.ts';
import type { Clock } from '../shared/clock.ts';
import { createHttpListener } from '../shared/create-http-listener.ts';
import type { Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';
import { CA_CERT_DIR, CRL_PATH, OCSP_PATH, ROOT_CRL_PATH } from './paths.ts';

export interface PkiPublicationDeps {
  storage: Storage;
  ca: CertificateAuthority;
  responder: OcspResponder;
  clock: Clock;
}

/** A request as both listeners see it: method, raw path (no query), headers, body if one was read. */
interface PublicationRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  ifNoneMatch: string | undefined;
  /** undefined: none read (GET) or it exceeded MAX_OCSP_REQUEST_BYTES (POST). */
  body: Buffer | undefined;
}

const ISSUING_CRL = /^\/pki\/issuing\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.crl$/;

/** Which CA's CRL a path names: the root's, the original issuing CA's, or a later generation's by id. */
function crlRefOf(ca: CertificateAuthority, path: string): CaRef | undefined {
  if (path === ROOT_CRL_PATH) return 'root';
  if (path === CRL_PATH) return ca.issuingCrlRef('original');
  const id = ISSUING_CRL.exec(path)?.[1];
  return id === undefined ? undefined : ca.issuingCrlRef({ id });
}
const CA_CERT = new RegExp(`^${CA_CERT_DIR}/([0-9a-f]{2,128})\\.cer$`);

function problem(status: number, code: string, detail: string): OcspHttpAnswer {
  const title =
    { 404: 'Not Found', 405: 'Method Not Allowed', 503: 'Service Unavailable' }[status] ?? 'Error';
  return {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify({ type: `urn:accredit:problem:${code}`, title, status, detail, code })),
  };
}

/**
 * The PKI publication paths, whichever listener serves them: the CRL of each CA level, the OCSP responder
 * (RFC 6960 A.1, GET and POST), and each CA certificate by subject key identifier, DER
 * `application/pkix-cert` (RFC 2585 §4.1, the caIssuers target of RFC 5280 §4.2.2.1).
 */
export async function answerPublication(
  deps: PkiPublicationDeps,
  request: PublicationRequest,
): Promise<OcspHttpAnswer> {
  const { path, method } = request;
  if (path === OCSP_PATH || path.startsWith(`${OCSP_PATH}/`)) {
    return answerOcspHttp(
      (der) => deps.responder.respond(der),
      {
        method,
        suffix: path.slice(OCSP_PATH.length + 1),
        contentType: request.contentType,
        body: request.body,
        ifNoneMatch: request.ifNoneMatch,
      },
      deps.clock(),
    );
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const answer = problem(405, 'method_not_allowed', 'publication paths are read with GET');
    answer.headers.allow = 'GET, HEAD';
    return answer;
  }
  const level = crlRefOf(deps.ca, path);
  if (level) {
    const latest = await deps.ca.latestCrl(deps.storage.db, level);
    if (!latest) return problem(503, 'crl_unavailable', 'no CRL has been published yet');
    const left = Math.floor((new Date(latest.nextUpdate).getTime() - deps.clock().getTime()) / 1000);
    return {
      status: 200,
      headers: {
        // RFC 5280 §5 DER (RFC 2585 §4.2 media type); relying parties may cache it until nextUpdate.
        'content-type': 'application/pkix-crl',
        'cache-control': `public, max-age=${Math.max(0, Math.min(left, 3600))}`,
        'last-modified': new Date(latest.thisUpdate).toUTCString(),
      },
      body: latest.der,
    };
  }
  const ski = CA_CERT.exec(path)?.[1];
  if (ski) {
    const authority = (await deps.responder.authorities()).bySki(ski);
    if (!authority) return problem(404, 'not_found', 'no CA certificate with this key identifier');
    return {
      status: 200,
      headers: { 'content-type': 'application/pkix-cert', 'cache-control': 'public, max-age=3600' },
      body: authority.certDer,
    };
  }
  return problem(404, 'not_found', 'this listener serves CRLs, OCSP and CA certificates only');
}

/** OCSP and the CA certificates on the HTTPS public listener too (its CRLs are in public-routes). */
export async function registerPkiPublicationRoutes(
  app: FastifyInstance,
  deps: PkiPublicationDeps,
): Promise<void> {
  await app.register(async (scope) => {
    // Any body, as bytes, bounded: the OCSP code answers a wrong type or size with malformedRequest.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_OCSP_REQUEST_BYTES },
      (_req, body, done) => done(null, body),
    );
    scope.setErrorHandler(async (err, request, reply) => {
      const tooLarge = (err as { statusCode?: number }).statusCode === 413;
      const answer = await answerPublication(deps, {
        method: request.method,
        path: OCSP_PATH,
        contentType: undefined,
        ifNoneMatch: undefined,
        body: tooLarge ? undefined : Buffer.alloc(0),
      });
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
    const handler = async (
      request: import('fastify').FastifyRequest,
      reply: import('fastify').FastifyReply,
    ) => {
      const answer = await answerPublication(deps, {
        method: request.method,
        path: (request.raw.url ?? '').split('?')[0] ?? '',
        contentType: request.headers['content-type'],
        ifNoneMatch: request.headers['if-none-match'],
        body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
      });
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    };
    scope.route({ method: ['GET', 'POST'], url: OCSP_PATH, handler, schema: { hide: true } });
    scope.route({ method: ['GET', 'POST'], url: `${OCSP_PATH}/*`, handler, schema: { hide: true } });
    scope.get(`${CA_CERT_DIR}/:file`, { schema: { hide: true } }, handler);
  });
}

/** Reads a request body up to `limit` octets; undefined once it goes beyond (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The plain-HTTP listener (RFC 5280 §8, RFC 6960 A.1: CRLs and OCSP are fetched over http): it serves the
 * publication paths and nothing else, under the platform's connection limits.
 */
export function createPkiHttpListener(
  deps: PkiPublicationDeps,
  config: PlatformConfig,
  logger: Logger,
  uncappedAddresses: readonly string[],
): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = method === 'POST' ? await readBody(req, MAX_OCSP_REQUEST_BYTES) : undefined;
    const answer = await answerPublication(deps, {
      method,
      path,
      contentType: req.headers['content-type'],
      ifNoneMatch: req.headers['if-none-match'],
      body,
    });
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
    res.end(method === 'HEAD' ? undefined : answer.body);
  };
  return createHttpListener(
    (req, res) => {
      handle(req, res).catch((err) => {
        logger.error({ err: (err as Error).message }, 'PKI publication request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      });
    },
    { name: 'pkiHttp', limits: config.listeners.limits, logger, uncappedAddresses },
  );
}

export interface PkiPublication {
  responder: OcspResponder;
  deps: PkiPublicationDeps;
  /** Starts the plain-HTTP listener unless disabled; its port (the configured one, or the one bound for 0). */
  listen(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** The OCSP responder (following the change feed) and the plain-HTTP listener, as start-platform wires them. */
export function createPkiPublication(opts: {
  storage: Storage;
  ca: CertificateAuthority;
  kek: string;
  clock: Clock;
  logger: Logger;
  config: PlatformConfig;
  uncappedAddresses: readonly string[];
  /** Every OCSP response's status (metrics). */
  onOcspAnswer?: (status: OcspResponseStatus) => void;
}): PkiPublication {
  const { config, logger } = opts;
  const responder = new OcspResponder({
    storage: opts.storage,
    kek: opts.kek,
    clock: opts.clock,
    responderDays: config.pki.ocspResponderDays,
    validityMinutes: config.pki.ocspValidityMinutes,
    keyAlgorithm: config.pki.keyAlgorithm,
    logger,
    ...(opts.onOcspAnswer ? { onAnswer: opts.onOcspAnswer } : {}),
  });
  const unfollow = responder.follow();
  const deps = { storage: opts.storage, ca: opts.ca, responder, clock: opts.clock };
  let server: Server | undefined;
  return {
    responder,
    deps,
    async listen() {
      if (!config.listeners.pkiHttp.enabled) return undefined;
      const listener = createPkiHttpListener(deps, config, logger, opts.uncappedAddresses);
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(config.listeners.pkiHttp.port, config.host, () => resolve());
      });
      server = listener;
      return (listener.address() as AddressInfo).port;
    },
    async close() {
      unfollow();
      if (!server) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    },
  };
}
