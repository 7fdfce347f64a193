import pino, { type Logger } from 'pino';

/**
 * JSON logs. Credential-bearing request headers are redacted by exact path; no wildcard paths, which made
 * redaction walk every object logged and tripled the gateway's per-request cost (bench/gateway). Code
 * never logs tokens or keys; decision lines carry the token's jti.
 *
 * Stdout is written in batches of at least 4 KiB (pino's SonicBoom; flushed every 250 ms and at exit) by a
 * synchronous write: a write per line cost 8–15 points of throughput against the bare proxy in bench/gateway,
 * and asynchronous writes (libuv threadpool) twice the CPU per line of buffered synchronous ones (11.2 vs
 * 5.6 µs). Like an access log, a consumer that cannot keep up slows the writer rather than growing memory.
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
  const stream = pino.destination({ dest: 1, sync: true, minLength: 4096 });
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
