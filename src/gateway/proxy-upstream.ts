import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import {
  clientResponseHeaders,
  GATEWAY_SECRET_HEADER,
  type IdentityHeaders,
  upstreamRequestHeaders,
} from './forward-headers.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';
import type { UpstreamTls } from './options.ts';

export interface UpstreamOptions {
  /** http(s) base URL; its path, if any, prefixes every forwarded path. */
  url: string;
  timeoutMs: number;
  connections: number;
  /** Sent in x-accredit-gateway-secret: how the upstream knows the request came through the gateway. */
  secret: string | undefined;
  /** Trust anchors and the client certificate for an https upstream. */
  tls: UpstreamTls | undefined;
}

export interface Upstream {
  /**
   * Streams the request to the upstream and its response back (step 6) and resolves with the upstream's
   * status, which is preserved (its 403/404 stay). Throws GatewayError before any byte of the response
   * was sent when the upstream cannot be reached.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    pathAndQuery: string,
    identity: IdentityHeaders,
  ): Promise<number>;
  close(): Promise<void>;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The abort signal undici accepts besides an AbortSignal/EventEmitter (`once`/`removeListener`): one
 * listener, no emitter machinery. An AbortController per request cost more than the whole scope check.
 */
class ClientGoneSignal {
  aborted = false;
  reason = undefined;
  #listener: (() => void) | null = null;
  // undici checks for `on` to accept the signal, then subscribes with `once`.
  on(_event: 'abort', listener: () => void): void {
    this.#listener = listener;
  }
  once(_event: 'abort', listener: () => void): void {
    this.#listener = listener;
  }
  removeListener(): void {
    this.#listener = null;
  }
  abort(): void {
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = null;
    listener?.();
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** A keep-alive undici Pool to the protected API. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const base = new URL(options.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const { secret } = options;
  const pool = new Pool(base.origin, {
    connections: options.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(options.tls ? { connect: { ...options.tls } } : {}),
  });
  return {
    async forward(req, res, pathAndQuery, identity) {
      // One 'close' listener covers both ways a client can leave early: before or after the response head.
      const abort = new ClientGoneSignal();
      let body: Readable | undefined;
      res.once('close', () => {
        if (res.writableFinished) return;
        if (body) {
          body.destroy();
        } else {
          abort.abort();
        }
      });
      const headers = upstreamRequestHeaders(req.headers, identity, { address: req.socket.remoteAddress });
      if (secret !== undefined) headers[GATEWAY_SECRET_HEADER] = secret;
      let response: Awaited<ReturnType<Pool['request']>>;
      try {
        response = await pool.request({
          origin: base.origin,
          path: prefix + pathAndQuery,
          method: req.method as 'GET',
          headers,
          body: hasBody(req) ? req : null,
          signal: abort as unknown as AbortSignal,
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
          throw new GatewayError(
            GATEWAY_REASONS.upstreamTimeout,
            504,
            'the upstream API did not answer in time',
          );
        }
        throw new GatewayError(GATEWAY_REASONS.upstreamUnavailable, 502, 'the upstream API is unavailable');
      }
      body = response.body;
      // The upstream broke mid-body: nothing more can be said on this response.
      body.once('error', () => res.destroy());
      res.writeHead(response.statusCode, clientResponseHeaders(response.headers, identity['x-request-id']));
      // Plain pipe, not stream.pipeline (which builds and aborts an AbortController per response); the
      // decision is logged once the response head is sent, the body streams on.
      body.pipe(res);
      return response.statusCode;
    },
    async close() {
      await pool.close();
    },
  };
}
