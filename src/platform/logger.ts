import pino, { type Logger } from 'pino';

/**
 * JSON logs. Credential-bearing request headers are redacted by exact path; no wildcard paths, which made
 * redaction walk every object logged and tripled the gateway's per-request cost (bench/gateway). Code
 * never logs tokens or keys; decision lines carry the token's jti.
 *
 * Stdout is written asynchronously (pino's SonicBoom, flushed synchronously at exit): a blocking write per
 * gateway decision cost 8–15 points of throughput against the bare proxy in bench/gateway.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  destination ??= pino.destination({ dest: 1, sync: false });
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
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
