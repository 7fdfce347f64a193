import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { problem, sendProblem, toProblem } from './problem.ts';

export interface ServerOptions {
  tls: SecureContextOptions;
  logger: Logger;
  bodyLimit?: number;
}

/** A Fastify HTTPS server whose every error leaves as RFC 9457 problem details, never a stack trace. */
export function createHttpsServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    https: { ...options.tls, minVersion: 'TLSv1.2' },
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: false } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
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
