import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { redactUrl } from '../../shared/redact-url.ts';

/**
 * The logger Fastify logs each request with: its `req` serializer writes the URL with credentials taken out
 * (an `?access_token=` an operator put in the query, RFC 6750 §5.3; a token in the path). Fastify merges this
 * serializer over its own, so every route of every listener built on it logs through it.
 */
export function redactedRequestLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      serializers: {
        req: (req: FastifyRequest) => ({
          method: req.method,
          url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
  );
}
