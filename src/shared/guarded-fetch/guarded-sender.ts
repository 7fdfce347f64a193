import { Agent, request } from 'undici';
import { FetchError } from './fetch-error.ts';
import { createGuardedConnector, resolveWithSystemDns } from './guarded-connector.ts';
import {
  createGuardedFetcher,
  type GuardedFetcherOptions,
  transportError,
  type UrlGuard,
} from './guarded-fetcher.ts';

export interface GuardedPost {
  url: string;
  /** Request headers (lower-case names); `content-type` included. */
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
}

export interface GuardedPostResult {
  status: number;
  /** The answer's media type, lower-case, without parameters ('' when absent). */
  contentType: string;
  /** The answer, read up to `maxResponseBytes` (error descriptions a protocol defines, e.g. RFC 8935 §2.3). */
  body: string;
  /** The first bytes of the answer (at most `excerptBytes`) without control characters, for a delivery log. */
  excerpt: string;
  /** `Retry-After` (RFC 9110 §10.2.3) in seconds from now, when the answer carried a valid one. */
  retryAfterSeconds?: number;
}

/** RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date; anything else is ignored. */
export function retryAfterSeconds(header: string | string[] | undefined, now: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d{1,10}$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/GMT$/.test(value)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The guarded fetcher's counterpart for pushing to a URL a subscriber named (webhooks, Shared Signals push): the same address
 * policy at connect time, https only, bounded time; any status is an answer (the caller decides what a 2xx
 * or 3xx means) and redirects are never followed, so a POST cannot be bounced to a host nobody approved.
 */
export interface GuardedSender extends UrlGuard {
  post(request: GuardedPost): Promise<GuardedPostResult>;
  close(): Promise<void>;
}

function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('invalid_url', 'not an absolute URL');
  }
  if (url.protocol !== 'https:') throw new FetchError('https_required', `${url.origin} is not https`);
  if (url.username !== '' || url.password !== '')
    throw new FetchError('invalid_url', 'URL must not carry credentials');
  return url;
}

/** Reads at most `limit` bytes of a body, then stops reading and drops the connection's remainder. */
async function readAtMost(
  body: AsyncIterable<Uint8Array> & { destroy(): unknown; on(e: 'error', l: () => void): unknown },
  limit: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  body.on('error', () => {});
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.byteLength;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

// Control characters out: the excerpt is shown in a log and a terminal.
const excerptOf = (bytes: Buffer) =>
  bytes
    .toString('utf8')
    .replace(/[\p{Cc}\uFFFD]+/gu, ' ')
    .trim();

export function createGuardedSender(
  options: GuardedFetcherOptions & { excerptBytes?: number } = {},
): GuardedSender {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const excerptBytes = options.excerptBytes ?? 256;
  const maxResponseBytes = Math.max(options.maxResponseBytes ?? 8 * 1024, excerptBytes);
  const guard = createGuardedFetcher({ ...options, maxRedirects: 0 });
  const agent = new Agent({
    connect: createGuardedConnector({
      connectTimeoutMs,
      allowLoopback: options.allowLoopback ?? false,
      allowPrivateNetworks: options.allowPrivateNetworks ?? false,
      ca: options.ca,
      resolveHost: options.resolveHost ?? resolveWithSystemDns,
    }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 16,
  });
  const userAgent = options.userAgent ?? 'accredit';
  return {
    async post(req) {
      const url = checkUrl(req.url);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const signal = req.signal ? AbortSignal.any([controller.signal, req.signal]) : controller.signal;
      try {
        let res: Awaited<ReturnType<typeof request>>;
        try {
          res = await request(url, {
            dispatcher: agent,
            method: 'POST',
            signal,
            headers: { 'user-agent': userAgent, ...req.headers },
            body: req.body,
          });
        } catch (err) {
          throw transportError(err, url, signal.aborted);
        }
        let bytes: Buffer = Buffer.alloc(0);
        try {
          bytes = await readAtMost(res.body, maxResponseBytes);
        } catch {
          // The status is the answer; a body cut short changes nothing.
        }
        const retryAfter = retryAfterSeconds(res.headers['retry-after'], Date.now());
        const contentType = String(res.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        return {
          status: res.statusCode,
          contentType,
          body: bytes.toString('utf8'),
          excerpt: excerptOf(bytes.subarray(0, excerptBytes)),
          ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
        };
      } finally {
        clearTimeout(timer);
      }
    },
    assertFetchable: (url) => guard.assertFetchable(url),
    async close() {
      await Promise.all([agent.close(), guard.close()]);
    },
  };
}
