import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { createHttpsListener } from '../../shared/create-https-listener.ts';
import { type ListenerLimits, resolveListenerLimits } from '../../shared/listener-limits.ts';
import type { DecisionCore } from '../decision/types.ts';
import { AUTH_REQUEST_PATH, handleAuthRequest } from './auth-request-door.ts';
import { AUTHZEN_PATHS, authzenMetadata, handleAuthzen } from './authzen-door.ts';
import { createCallerCheck, type DecisionCallers } from './caller-auth.ts';
import { EXT_AUTHZ_PREFIX, handleExtAuthz } from './ext-authz-door.ts';
import { requestIdOf } from './http-door.ts';

export interface DecisionListenerOptions extends DecisionCallers {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** External base URL of the listener, for the AuthZEN metadata; default its local URL. */
  publicUrl?: string;
  /**
   * External base URL of the API the edges protect (https://api.example.com), as clients address it: DPoP
   * proofs' `htu` is checked against it plus the original URI's path (RFC 9449 §4.3 step 9). Default: the
   * core's `dpop.publicUrl`; with neither, the DPoP scheme is refused at auth_request and ext_authz.
   */
  edgeUrl?: string;
  /** Server certificate chain and key. */
  tls: { cert: string; key: string; passphrase?: string };
  /** PEM bundle the callers' certificates named by subject must chain to; default: none (pins and secret only). */
  callerCa?: string;
  /** The header nginx puts `$ssl_client_escaped_cert` in (default x-client-cert). */
  certificateHeader?: string;
  core: DecisionCore;
  logger: Logger;
  realm?: string;
  limits?: Partial<ListenerLimits>;
}

export interface DecisionListener {
  url: string;
  port: number;
  /** Replaces the server certificate (the platform's issuing CA rotated): new handshakes use it. */
  setServerCertificate(tls: { cert: string; key: string; passphrase?: string }): void;
  close(): Promise<void>;
}

function listenUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `https://${name}:${port}`;
}

function unauthenticated(res: ServerResponse, requestId: string, realm: string): void {
  const body = JSON.stringify({
    type: 'urn:accredit:problem:caller_unauthenticated',
    title: 'Unauthorized',
    status: 401,
    code: 'caller_unauthenticated',
    detail:
      'the decision listener answers only the edges configured in decision.callers or decision.secretFile',
    request_id: requestId,
  });
  res.writeHead(401, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'www-authenticate': `Bearer realm="${realm}-decision"`,
    'x-request-id': requestId,
  });
  res.end(body);
}

/**
 * The decision listener: the doors an edge asks instead of proxying through the own gateway — nginx
 * auth_request, Envoy ext_authz (HTTP service) and AuthZEN 1.0 — each over the same decision core. Only
 * callers the operator named are answered (mTLS certificate pinned or named, or the shared secret); the
 * client certificate they forward is trusted as from a trusted proxy and checked like a TLS peer's.
 */
export async function createDecisionListener(options: DecisionListenerOptions): Promise<DecisionListener> {
  const { core, logger } = options;
  const realm = options.realm ?? 'accredit';
  const certificateHeader = (options.certificateHeader ?? 'x-client-cert').toLowerCase();
  const limits = resolveListenerLimits(options.limits, (key, message) => {
    throw new Error(`decision.limits.${key}: ${message}`);
  });
  if ((options.callers?.length ?? 0) === 0 && options.secret === undefined) {
    logger.warn(
      { listener: 'decision' },
      'no decision.callers and no decision.secretFile: every call to the decision listener is refused',
    );
  }
  if (options.edgeUrl !== undefined) {
    const edge = URL.canParse(options.edgeUrl) ? new URL(options.edgeUrl) : undefined;
    if (edge === undefined || edge.protocol !== 'https:' || edge.search !== '' || edge.hash !== '') {
      throw new Error('decision.edgeUrl: expected an https base URL without query or fragment');
    }
  }
  const isCaller = createCallerCheck(options);
  let baseUrl = options.publicUrl;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const authzen = path === AUTHZEN_PATHS.evaluation || path === AUTHZEN_PATHS.evaluations;
    if (!isCaller(req, authzen || path === AUTHZEN_PATHS.metadata)) {
      req.resume();
      unauthenticated(res, requestIdOf(req.headers), realm);
      return;
    }
    if (path === AUTH_REQUEST_PATH)
      return handleAuthRequest(core, certificateHeader, req, res, options.edgeUrl);
    if (path === EXT_AUTHZ_PREFIX || path.startsWith(`${EXT_AUTHZ_PREFIX}/`))
      return handleExtAuthz(core, req, res, options.edgeUrl);
    if (path === AUTHZEN_PATHS.evaluation) return handleAuthzen(core, 'evaluation', req, res);
    if (path === AUTHZEN_PATHS.evaluations) return handleAuthzen(core, 'evaluations', req, res);
    req.resume();
    if (path === AUTHZEN_PATHS.metadata && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify(authzenMetadata(baseUrl ?? ''));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ title: 'Not Found', status: 404, code: 'not_found' }));
  }

  const server = createHttpsListener(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.passphrase !== undefined ? { passphrase: options.tls.passphrase } : {}),
      ...(options.callerCa !== undefined ? { ca: options.callerCa } : {}),
      // Callers are judged per request (pins, subjects, or the secret), so a certificate is asked, not required.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        logger.error({ err }, 'decision request failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ title: 'Internal Server Error', status: 500, code: 'internal_error' }));
        } else res.destroy();
      });
    },
    { name: 'decision', limits, logger },
  );
  server.keepAliveTimeout = 65_000;
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = listenUrl(options.host, port);
  baseUrl ??= url;
  logger.info({ listener: 'decision', url, public_url: baseUrl }, 'listening');
  return {
    url,
    port,
    setServerCertificate(tls) {
      server.setSecureContext({
        cert: tls.cert,
        key: tls.key,
        ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
        ...(options.callerCa !== undefined ? { ca: options.callerCa } : {}),
        minVersion: 'TLSv1.2',
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
