import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { clientResponseHeaders, type IdentityHeaders, upstreamRequestHeaders } from './forward-headers.ts';
import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';

export interface UpstreamOptions {
  /** http(s) base URL; its path, if any, prefixes every forwarded path. */
  url: string;
  timeoutMs: number;
  connections: number;
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

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** A keep-alive undici Pool to the protected API. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const base = new URL(options.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: options.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  return {
    async forward(req, res, pathAndQuery, identity) {
      // An EventEmitter, not an AbortController: undici takes either, and an AbortSignal per request cost
      // ~70 µs of (mostly GC) CPU per request in bench/gateway. It fires only if the client goes away early.
      const abort = Object.assign(new EventEmitter(), { aborted: false });
      const onClose = () => {
        if (res.writableFinished) return;
        abort.aborted = true;
        abort.emit('abort');
      };
      res.once('close', onClose);
      let response: Awaited<ReturnType<Pool['request']>>;
      try {
        response = await pool.request({
          origin: base.origin,
          path: prefix + pathAndQuery,
          method: req.method as 'GET',
          headers: upstreamRequestHeaders(req.headers, identity, { address: req.socket.remoteAddress }),
          body: hasBody(req) ? req : null,
          signal: abort,
        });
      } catch (err) {
        res.off('close', onClose);
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
      res.writeHead(response.statusCode, clientResponseHeaders(response.headers, identity['x-request-id']));
      // Plain pipe, not stream.pipeline: pipeline aborts an internal AbortController on every finish, and the
      // DOMException that creates was the gateway's single largest per-request cost (bench/gateway profile).
      const body = response.body;
      await new Promise<void>((resolve) => {
        body.once('error', () => {
          // The upstream broke mid-body: nothing more can be said on this response.
          res.destroy();
          resolve();
        });
        res.once('close', () => {
          if (!body.readableEnded) body.destroy();
          resolve();
        });
        body.pipe(res);
      });
      res.off('close', onClose);
      return response.statusCode;
    },
    async close() {
      await pool.close();
    },
  };
}
