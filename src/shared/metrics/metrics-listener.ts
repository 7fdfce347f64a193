import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createHttpListener } from '../create-http-listener.ts';
import type { ListenerLogger } from '../create-https-listener.ts';
import type { ListenerLimits } from '../listener-limits.ts';

export interface MetricsListenerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Scraped in this order, their texts joined (the process registry, then the component's). */
  registries: readonly Registry[];
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  limits: ListenerLimits;
  logger: ListenerLogger & { error(obj: object, msg: string): void };
}

export interface MetricsListener {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

const MIN_TOKEN_LENGTH = 32;

/**
 * The scrape token from a file: a secret, so a file others may read is refused (as ssh does), and it must be
 * long enough not to be guessed (at least 32 visible ASCII characters). Throws a message naming `label`,
 * never the token.
 */
export function readMetricsToken(file: string, label: string): string {
  if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`${label}: ${file} is not a file`);
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new Error(`${label}: ${file} is readable by others; run chmod 600 ${file}`);
  }
  const token = readFileSync(file, 'utf8').trim();
  if (!new RegExp(`^[\\x21-\\x7e]{${MIN_TOKEN_LENGTH},}$`).test(token)) {
    throw new Error(`${label}: ${file} must hold at least ${MIN_TOKEN_LENGTH} visible ASCII characters`);
  }
  return token;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares digests, so neither the token's length nor its content leaks through timing. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header ?? '');
  if (!match) return false;
  return timingSafeEqual(digest(match[1]!), expected);
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/**
 * The operator-only metrics listener: plain HTTP (Prometheus' default), under the same connection limits as
 * every other listener, serving only GET /metrics (the Prometheus text format) and GET /health. Anything
 * else is 404 (405 for another method on those two paths). With a token, /metrics answers 401 without it.
 */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const expected = options.token === undefined ? undefined : digest(options.token);
  const { logger } = options;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/health') return answer(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return answer(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    if (path === '/health') return answer(res, 200, 'ok\n');
    if (expected && !tokenMatches(req.headers.authorization, expected)) {
      return answer(res, 401, 'a bearer token is required\n', {
        'www-authenticate': 'Bearer realm="accredit-metrics"',
      });
    }
    const texts = await Promise.all(options.registries.map((r) => r.metrics()));
    const body = texts.map((t) => (t.endsWith('\n') || t === '' ? t : `${t}\n`)).join('');
    res.writeHead(200, {
      'content-type': options.registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
  const server: Server = createHttpListener(
    (req, res) => {
      handle(req, res).catch((err) => {
        logger.error({ err: (err as Error).message }, 'metrics scrape failed');
        if (!res.headersSent) answer(res, 500, 'metrics unavailable\n');
        else res.end();
      });
    },
    { name: 'metrics', limits: options.limits, logger },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
