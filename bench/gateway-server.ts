// The server side of `bench gateway`, run as a child process with IPC (forked by bench/gateway.ts): one
// target (the bare proxy or the gateway), its upstream and, for the gateway, the JWKS server, all in this
// process, so that process.cpuUsage() over the measured window is the whole server side's CPU time.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import pino from 'pino';
import { Pool } from 'undici';
// RFC 9110 §7.6.1 hop-by-hop fields are not forwarded by any proxy, bare or not: the gateway's own list.
import { createGateway, HOP_BY_HOP } from '../src/gateway/index.ts';
import { createLivenessState } from '../src/platform/enforcement-feed/index.ts';
import { createLogger } from '../src/platform/logger.ts';
import { createHttpsListener } from '../src/shared/create-https-listener.ts';
import { DEFAULT_LISTENER_LIMITS } from '../src/shared/listener-limits.ts';
import { openStorage } from '../src/storage/index.ts';
import type { ServerMaterial } from './gateway-fixture.ts';
import {
  type ChildMessage,
  type ParentMessage,
  type StartMessage,
  UPSTREAM_BODY,
} from './gateway-protocol.ts';

let served = 0;

interface RunningTarget {
  url: string;
  /** Requests handled so far. */
  served(): number;
  close(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function startUpstream(): Promise<{ url: string; close(): void }> {
  const body = Buffer.from(UPSTREAM_BODY);
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * The gateway's TLS listener settings, verbatim: requestCert, no handshake rejection, TLS ≥ 1.2, HTTP/1.1, the
 * default connection limits.
 */
function tlsServer(
  material: ServerMaterial,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createHttpsListener(
    {
      cert: material.serverCert,
      key: material.serverKey,
      ca: material.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    handler,
    { name: 'baseline', limits: DEFAULT_LISTENER_LIMITS, logger: pino({ level: 'silent' }) },
  );
  server.keepAliveTimeout = 65_000;
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  return server;
}

/** The baseline: the same TLS listener and the same undici Pool to the upstream, no checks at all. */
async function startBaseline(
  material: ServerMaterial,
  upstreamUrl: string,
  connections: number,
): Promise<RunningTarget> {
  const origin = new URL(upstreamUrl).origin;
  const pool = new Pool(origin, {
    connections,
    keepAliveTimeout: 30_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const server = tlsServer(material, (req, res) => {
    served++;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== 'host' && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    pool
      .request({
        origin,
        path: req.url ?? '/',
        method: req.method as 'GET',
        headers,
        body: hasBody ? req : null,
      })
      .then(async (upstream) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstream.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        res.writeHead(upstream.statusCode, out);
        // The same plain pipe the gateway uses (stream.pipeline costs a DOMException per response).
        upstream.body.once('error', () => res.destroy());
        upstream.body.pipe(res);
      })
      .catch(() => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      });
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    served: () => served,
    async close() {
      server.closeAllConnections();
      server.close();
      await pool.close();
    },
  };
}

/** The authorization server's JWKS over HTTPS, as the gateway fetches it in production. */
async function startJwks(material: ServerMaterial): Promise<{ url: string; close(): void }> {
  const body = JSON.stringify(material.jwks);
  const server = createHttpsServer({ cert: material.serverCert, key: material.serverKey }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(body);
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}/jwks`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function startGatewayTarget(message: StartMessage, upstreamUrl: string): Promise<RunningTarget> {
  const { material } = message;
  const storage = await openStorage({ url: material.dbPath });
  const liveness = await createLivenessState(storage);
  const jwks = await startJwks(material);
  // As the platform does (createLogger): a batching SonicBoom destination written synchronously.
  const logger = createLogger(
    message.logLevel,
    pino.destination({ dest: '/dev/null', sync: true, minLength: 4096 }),
  );
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: material.audience,
    tls: { cert: material.serverCert, key: material.serverKey, ca: material.caPem },
    issuer: material.issuer,
    audience: material.audience,
    jwksUri: jwks.url,
    jwksCa: material.caPem,
    liveness,
    routes: material.routes,
    upstream: upstreamUrl,
    // As a real deployment: the shared secret header on every forwarded request.
    upstreamSecret: 'b'.repeat(43),
    logger,
    upstreamConnections: message.upstreamConnections,
    ...(message.tokenCacheSize !== undefined ? { tokenCacheSize: message.tokenCacheSize } : {}),
    ...(message.verifyThreads !== undefined ? { verifyThreads: message.verifyThreads } : {}),
    ...(message.dpopNonceSecret !== undefined
      ? { dpop: { nonceSecret: Buffer.from(message.dpopNonceSecret, 'base64url') } }
      : {}),
  });
  return {
    url: gateway.url,
    served() {
      const { allowed, denied } = gateway.stats();
      let total = 0;
      for (const n of [...Object.values(allowed), ...Object.values(denied)]) total += n;
      return total;
    },
    async close() {
      await gateway.close();
      jwks.close();
      liveness.close();
      await storage.close();
    },
  };
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write(
      'bench/gateway-server.ts is started by bench/gateway.ts (it needs an IPC channel)\n',
    );
    process.exit(2);
  }
  let close: () => Promise<void> = async () => {};
  let count: () => number = () => 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let served0 = 0;
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'start':
        (async () => {
          const upstream = await startUpstream();
          const target =
            message.target === 'baseline'
              ? await startBaseline(message.material, upstream.url, message.upstreamConnections)
              : await startGatewayTarget(message, upstream.url);
          count = target.served;
          close = async () => {
            await target.close();
            upstream.close();
          };
          send({ type: 'ready', url: target.url });
        })().catch((err: Error) => {
          send({ type: 'error', message: err.stack ?? err.message });
        });
        return;
      case 'measure-start':
        served0 = count();
        cpu0 = process.cpuUsage();
        send({ type: 'measuring' });
        return;
      case 'measure-stop': {
        const cpu = process.cpuUsage(cpu0);
        send({ type: 'cpu', userUs: cpu.user, systemUs: cpu.system, served: count() - served0 });
        return;
      }
      case 'exit':
        close()
          .catch(() => {})
          .finally(() => process.exit(0));
        return;
    }
  });
  // The parent going away (crash, Ctrl-C) must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
}

await main();
