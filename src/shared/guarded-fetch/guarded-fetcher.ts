import { isIP } from 'node:net';
import { Agent, request, errors as undiciErrors } from 'undici';
import { assertAddressAllowed, assertHostNameAllowed } from './address-policy.ts';
import { FetchError } from './fetch-error.ts';
import {
  createGuardedConnector,
  type ResolveHost,
  resolveWithSystemDns,
  withTimeout,
} from './guarded-connector.ts';
import { readLimitedBody } from './read-limited-body.ts';

export interface GuardedFetcherOptions {
  /** Time allowed for DNS resolution plus the TCP and TLS handshake. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Time allowed for the whole exchange, redirects and body included. Default 5000 ms. */
  timeoutMs?: number;
  /** Largest response body read; reading stops beyond it. Default 256 KiB. */
  maxResponseBytes?: number;
  /** Redirects followed on GET, each hop re-checked like the first. Default 0 (none). */
  maxRedirects?: number;
  /** Allow loopback addresses. Default false: only for development and tests. */
  allowLoopback?: boolean;
  /** Allow private, CGNAT, link-local, metadata-service and ULA addresses. Default false. */
  allowPrivateNetworks?: boolean;
  /**
   * Also fetch `http:` URLs (address policy and limits unchanged). Only for objects whose integrity is their own
   * signature: CRLs (RFC 5280 §4.2.1.13) and OCSP responses (RFC 6960 App. A.1) are commonly served over http.
   */
  allowPlainHttp?: boolean;
  /** PEM CA bundle trusted instead of the system roots (tests, private federations). */
  ca?: string | string[];
  /** Host name resolution; default the system resolver. */
  resolveHost?: ResolveHost;
  userAgent?: string;
}

export interface GuardedRequest {
  url: string;
  /** The media type asked for, e.g. `application/entity-statement+jwt`. */
  accept: string;
  /** The media types the answer may have; default `accept` alone. */
  mediaTypes?: readonly string[];
  /** `application/x-www-form-urlencoded` parameters: the request becomes a POST (e.g. Trust Mark Status, §8.4.1). */
  form?: Record<string, string>;
  /** The caller's own deadline, on top of the fetcher's timeout. */
  signal?: AbortSignal;
}

export interface GuardedResponse {
  /** The URL that answered, after any redirects. */
  url: string;
  status: number;
  contentType: string;
  /** Response headers, lower-case names (caching headers such as `cache-control` and `expires`). */
  headers: Record<string, string>;
  body: string;
  /** The body as received (binary answers: DER CRLs, OCSP responses). */
  raw: Buffer;
}

/** Refuses, before any request, a URL the fetcher would not fetch: registration-time check of partner metadata. */
export interface UrlGuard {
  assertFetchable(url: string): Promise<void>;
}

/**
 * The platform's one HTTP client for every request a partner's word causes (federation statements, a client's
 * jwks_uri…); every refusal or failure is a `FetchError`.
 */
export interface GuardedFetcher extends UrlGuard {
  fetch(request: GuardedRequest): Promise<GuardedResponse>;
  close(): Promise<void>;
}

const DEFAULTS = {
  connectTimeoutMs: 5000,
  timeoutMs: 5000,
  maxResponseBytes: 256 * 1024,
  maxRedirects: 0,
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Error bodies are read only to extract an error code (§8.9, RFC 6749 §5.2); no need for more than this. */
const MAX_ERROR_BODY_BYTES = 8 * 1024;

function checkUrl(raw: string, allowPlainHttp = false): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('invalid_url', 'not an absolute URL');
  }
  // Entity Identifiers, federation endpoints (§1.2, §5.1.1) and a client's jwks_uri (RFC 7591 §2) are https.
  if (url.protocol !== 'https:' && !(allowPlainHttp && url.protocol === 'http:')) {
    throw new FetchError('https_required', `${url.origin} is not https`);
  }
  if (url.username !== '' || url.password !== '')
    throw new FetchError('invalid_url', 'URL must not carry credentials');
  return url;
}

function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

function errorCodeOf(body: Buffer, contentType: string): string | undefined {
  if (contentType !== 'application/json') return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
    return typeof parsed.error === 'string' && /^[\w.-]{1,64}$/.test(parsed.error) ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** Drops a body we will not read; the stream's abort error has nowhere to go and is swallowed. */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL)/;

/** Any failure of an exchange with `url` as a FetchError with a stable code (shared by the guarded sender). */
export function transportError(err: unknown, url: URL, aborted: boolean): FetchError {
  if (err instanceof FetchError) return err;
  if (aborted) return new FetchError('timeout', `request to ${url.origin} timed out`, { cause: err });
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new FetchError('connect_timeout', `connecting to ${url.origin} timed out`, { cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new FetchError('timeout', `request to ${url.origin} timed out`, { cause: err });
  }
  if (typeof code === 'string' && TLS_CODE.test(code)) {
    return new FetchError('tls_error', `TLS with ${url.origin} failed (${code})`, { cause: err });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new FetchError('dns_failure', `${url.hostname} could not be resolved`, { cause: err });
  }
  return new FetchError('network_error', `request to ${url.origin} failed`, { cause: err });
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The defensive HTTP client for everything fetched because a partner named it: https only, addresses checked
 * at connect time, bounded time and size, no redirects unless allowed, and the answer's media type checked.
 * Partners are untrusted input; each refusal is a `FetchError` with a stable code.
 */
export function createGuardedFetcher(options: GuardedFetcherOptions = {}): GuardedFetcher {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
  const maxRedirects = options.maxRedirects ?? DEFAULTS.maxRedirects;
  for (const [key, value] of Object.entries({
    connectTimeoutMs,
    timeoutMs,
    maxResponseBytes,
    maxRedirects,
  })) {
    if (!Number.isInteger(value) || value < (key === 'maxRedirects' ? 0 : 1)) {
      throw new TypeError(`guarded fetcher option ${key} must be a positive integer`);
    }
  }
  const policy = {
    allowLoopback: options.allowLoopback ?? false,
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
  };
  const resolveHost = options.resolveHost ?? resolveWithSystemDns;
  const agent = new Agent({
    connect: createGuardedConnector({
      connectTimeoutMs,
      ...policy,
      ca: options.ca,
      resolveHost,
      allowPlainHttp: options.allowPlainHttp ?? false,
    }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 16,
  });
  const userAgent = options.userAgent ?? 'accredit';
  const plainHttp = options.allowPlainHttp ?? false;

  async function exchange(req: GuardedRequest, signal: AbortSignal): Promise<GuardedResponse> {
    let url = checkUrl(req.url, plainHttp);
    const method = req.form === undefined ? 'GET' : 'POST';
    const body = req.form === undefined ? undefined : new URLSearchParams(req.form).toString();
    const accepted = (req.mediaTypes ?? [req.accept]).map((t) => t.toLowerCase());
    for (let hop = 0; ; hop++) {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          dispatcher: agent,
          method,
          signal,
          headers: {
            accept: req.accept,
            'user-agent': userAgent,
            ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
          ...(body === undefined ? {} : { body }),
        });
      } catch (err) {
        throw transportError(err, url, signal.aborted);
      }
      const contentType = mediaType(res.headers['content-type']);
      if (REDIRECT_STATUSES.has(res.statusCode)) {
        await res.body.dump({ limit: MAX_ERROR_BODY_BYTES }).catch(() => undefined);
        const location = res.headers.location;
        // A POST is never redirected: its body would be replayed to a host nobody asked for.
        if (method === 'POST' || hop >= maxRedirects || typeof location !== 'string') {
          throw new FetchError(
            'too_many_redirects',
            `${url.origin} redirected beyond the limit of ${maxRedirects}`,
            {
              status: res.statusCode,
            },
          );
        }
        url = checkUrl(new URL(location, url).href, plainHttp);
        continue;
      }
      const declared = Number(res.headers['content-length']);
      if (res.statusCode !== 200) {
        let errorCode: string | undefined;
        try {
          errorCode = errorCodeOf(
            await readLimitedBody(res.body, MAX_ERROR_BODY_BYTES, url.href),
            contentType,
          );
        } catch {
          errorCode = undefined;
        }
        throw new FetchError('http_status', `${url.origin} answered HTTP ${res.statusCode}`, {
          status: res.statusCode,
          ...(errorCode === undefined ? {} : { errorCode }),
        });
      }
      if (!accepted.includes(contentType)) {
        discard(res.body);
        throw new FetchError(
          'unexpected_content_type',
          `${url.origin} answered ${contentType || 'no content type'}`,
          {
            status: res.statusCode,
          },
        );
      }
      if (Number.isFinite(declared) && declared > maxResponseBytes) {
        discard(res.body);
        throw new FetchError(
          'response_too_large',
          `response from ${url.origin} exceeds ${maxResponseBytes} bytes`,
        );
      }
      let bytes: Buffer;
      try {
        bytes = await readLimitedBody(res.body, maxResponseBytes, url.origin);
      } catch (err) {
        throw transportError(err, url, signal.aborted);
      }
      return {
        url: url.href,
        status: res.statusCode,
        contentType,
        headers: flatHeaders(res.headers),
        body: bytes.toString('utf8'),
        raw: bytes,
      };
    }
  }

  return {
    async fetch(req) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const signal = req.signal ? AbortSignal.any([controller.signal, req.signal]) : controller.signal;
      try {
        return await exchange(req, signal);
      } finally {
        clearTimeout(timer);
      }
    },
    async assertFetchable(raw) {
      const url = checkUrl(raw, plainHttp);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      if (isIP(host) !== 0) return assertAddressAllowed(host, policy, host);
      assertHostNameAllowed(host, policy);
      let addresses: string[];
      try {
        addresses = await withTimeout(resolveHost(host), connectTimeoutMs, host);
      } catch {
        // Not resolvable today: nothing to refuse yet, and the connect-time check guards every later fetch.
        return;
      }
      // Stricter than at connect time, where one acceptable address suffices: a name may not point inside at all.
      for (const address of addresses) assertAddressAllowed(address, policy, host);
    },
    close: () => agent.close(),
  };
}
