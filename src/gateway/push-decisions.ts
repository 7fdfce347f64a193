import { Agent, request } from 'node:https';
import type { Logger } from 'pino';
import { type DecisionRecord, decisionLineFields } from './decision-log.ts';
import { DECISIONS_PUSH_MAX_BYTES, DECISIONS_PUSH_MAX_ITEMS, DECISIONS_PUSH_PATH } from './feed-protocol.ts';

export interface DecisionPusherOptions {
  platformUrl: string;
  /** PEM bundle the platform's server certificate chains to. */
  ca: string;
  /** The gateway's enforcement credential (the one it follows the change feed with). */
  credential: string;
  logger: Logger;
  /** How often a batch is sent (ms). */
  intervalMs?: number;
  /** Lines held while the platform is slow or unreachable; beyond it new lines are dropped and counted. */
  maxBuffered?: number;
  now?: () => number;
}

export interface DecisionPusher {
  /** For the gateway's decision hook: appends the line to the buffer (no I/O, no JSON on the request path). */
  onDecision(entry: DecisionRecord): void;
  /** Lines not delivered: over the buffer, or refused by the platform. */
  dropped(): number;
  /** Sends what is buffered now (one batch after another). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 1000;
const DEFAULT_MAX_BUFFERED = 10_000;
/** Room for the `{"decisions":[` … `]}` around the lines. */
const ENVELOPE_BYTES = 64;

const lineOf = (entry: DecisionRecord, at: number) =>
  JSON.stringify({ at: new Date(at).toISOString(), ...decisionLineFields(entry) });

/**
 * Issue 16 (optional, `accredit gateway --push-decisions`): sends the standalone gateway's decision lines to
 * the platform's shared decision log (`POST /enforcement/v1/decisions`, with its enforcement credential), so
 * the console's log, charts and the go-live check include traffic that never passed a platform node. Batches
 * of at most 1,000 lines and 1 MiB, one request at a time, about once a second; a batch the platform could not
 * take (network, 5xx) is retried, one it refused (4xx) is dropped and counted. Never the token: the lines are
 * the decision core's, with credential-looking path parts already redacted.
 */
export function pushDecisions(options: DecisionPusherOptions): DecisionPusher {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: options.ca });
  const url = new URL(DECISIONS_PUSH_PATH, options.platformUrl);
  let buffer: Array<{ entry: DecisionRecord; at: number }> = [];
  let dropped = 0;
  let sending: Promise<void> = Promise.resolve();
  let closed = false;

  function post(body: string): Promise<number> {
    return new Promise((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          timeout: 10_000,
          headers: {
            authorization: `Bearer ${options.credential}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }

  async function sendAll(): Promise<void> {
    while (buffer.length > 0) {
      // One batch: as many lines as fit the platform's item and byte limits.
      const parts: string[] = [];
      let bytes = ENVELOPE_BYTES;
      let taken = 0;
      for (const line of buffer) {
        if (taken >= DECISIONS_PUSH_MAX_ITEMS) break;
        const text = lineOf(line.entry, line.at);
        const size = Buffer.byteLength(text) + 1;
        if (bytes + size > DECISIONS_PUSH_MAX_BYTES) break;
        parts.push(text);
        bytes += size;
        taken += 1;
      }
      if (taken === 0) {
        // A single line larger than a whole request: it can never be sent.
        buffer.shift();
        dropped += 1;
        continue;
      }
      const status = await post(`{"decisions":[${parts.join(',')}]}`);
      if (status === 202) {
        buffer.splice(0, taken);
      } else if (status >= 400 && status < 500) {
        buffer.splice(0, taken);
        dropped += taken;
        logger.warn({ status, lines: taken }, 'the platform refused a batch of decision lines');
      } else {
        // Unreachable or failing: kept for the next tick (the buffer bound drops the newest beyond it).
        logger.warn({ status }, 'decision lines could not be sent to the platform; retrying');
        return;
      }
    }
  }

  const flush = (): Promise<void> => {
    sending = sending.then(sendAll, sendAll);
    return sending;
  };
  const timer = setInterval(() => {
    if (buffer.length > 0) void flush();
  }, options.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();

  return {
    onDecision(entry) {
      if (closed) return;
      if (buffer.length >= maxBuffered) {
        dropped += 1;
        return;
      }
      buffer.push({ entry, at: now() });
    },
    dropped: () => dropped,
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush();
      // What the platform could not take by now is given up.
      dropped += buffer.length;
      buffer = [];
      agent.destroy();
    },
  };
}
