import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createHttpsListener } from '../../shared/create-https-listener.ts';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../../shared/listener-limits.ts';
import { registerBoundedJsonParser } from './bounded-json-parser.ts';
import { problem, sendProblem, toProblem } from './problem.ts';
import { redactedRequestLogger } from './redacted-request-logger.ts';

export interface ServerOptions {
  tls: SecureContextOptions;
  logger: Logger;
  /** Connection limits of the listener (timeouts, caps); default DEFAULT_LISTENER_LIMITS. */
  limits?: ListenerLimits;
  /** Proxies (trustedProxies) whose connections the per-address cap does not count. */
  uncappedAddresses?: readonly string[];
  bodyLimit?: number;
  /** Requests Fastify should not see (e.g. the authorization server's routes) go here instead. */
  fallback?: { wants: (url: string) => boolean; handle: (req: IncomingMessage, res: ServerResponse) => void };
  /** Extra options of the underlying HTTPS server (client certificate requests, …). */
  serverOptions?: HttpsServerOptions;
}

/** A Fastify HTTPS server whose every error leaves as RFC 9457 problem details, never a stack trace. */
export function createHttpsServer(options: ServerOptions): FastifyInstance {
  const fallback = options.fallback;
  const app = Fastify({
    serverFactory: (handler) =>
      createHttpsListener(
        { ...options.tls, minVersion: 'TLSv1.2', ...options.serverOptions },
        (req, res) => {
          if (fallback?.wants(req.url ?? '/')) fallback.handle(req, res);
          else handler(req, res);
        },
        {
          name: 'public',
          limits: options.limits ?? DEFAULT_LISTENER_LIMITS,
          logger: options.logger,
          uncappedAddresses: options.uncappedAddresses ?? [],
        },
      ),
    loggerInstance: redactedRequestLogger(options.logger),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: false } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  registerBoundedJsonParser(app);
  app.setErrorHandler((err, request, reply) => {
    const body = toProblem(err, request);
    if (body.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, body);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  return app;
}
