import pino, { type Logger } from 'pino';

/**
 * JSON logs. Credential-bearing request headers are redacted by exact path; no wildcard paths, which made
 * redaction walk every object logged and tripled the gateway's per-request cost (bench/gateway). Code
 * never logs tokens or keys; decision lines carry the token's jti.
 *
 * Stdout is written asynchronously in batches (pino's SonicBoom; flushed every 250 ms and synchronously at
 * exit): a blocking write per gateway decision cost 8–15 points of throughput against the bare proxy in
 * bench/gateway.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  destination ??= bufferedStdout();
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

function bufferedStdout(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  // A quiet period must not hold lines back: push what is buffered a few times a second.
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Not ready yet (still opening) or already closed: the next tick or the exit flush covers it.
    }
  }, 250);
  timer.unref();
  return stream;
}
