import pino, { type Logger } from 'pino';

/** JSON logs; credentials are redacted wherever they could appear, so no token or key reaches a log line. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'accredit' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["client-cert"]',
          'req.headers.dpop',
          'headers.authorization',
          '*.token',
          '*.access_token',
          '*.private_key',
          '*.privateKey',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
