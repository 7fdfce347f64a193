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
import type { UrlGuard } from './guarded-fetcher.ts';
import { readLimitedBody } from './read-limited-body.ts';

export interface GuardedPosterOptions {
  timeoutMs?: number;
  /** Largest response body read (error descriptions); default 8 KiB. */
  maxResponseBytes?: number;
  allowLoopback?: boolean;
  allowPrivateNetworks?: boolean;
  ca?: string | string[];
  resolveHost?: ResolveHost;
  userAgent?: string;
}

export interface GuardedPost {
  url: string;
  contentType: string;
  body: string;
  /** Extra request headers (e.g. the receiver's own `authorization`); never logged. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Any answer, whatever its status: the caller decides what a status means in its protocol. */
export interface GuardedPostAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Delivers to a URL a partner or subscriber named (Security Event Tokens, webhooks): the guarded fetcher's
 * address policy checked at connect time, https only, bounded time and answer, never a redirect followed.
 */
export interface GuardedPoster extends UrlGuard {
  post(request: GuardedPost): Promise<GuardedPostAnswer>;
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

function failure(err: unknown, url: URL, aborted: boolean): FetchError {
  if (err instanceof FetchError) return err;
  if (aborted) return new FetchError('timeout', `request to ${url.origin} timed out`, { cause: err });
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new FetchError('connect_timeout', `connecting to ${url.origin} timed out`, { cause: err });
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code)) {
    return new FetchError('tls_error', `TLS with ${url.origin} failed (${code})`, { cause: err });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new FetchError('dns_failure', `${url.hostname} could not be resolved`, { cause: err });
  }
  return new FetchError('network_error', `request to ${url.origin} failed`, { cause: err });
}

export function createGuardedPoster(options: GuardedPosterOptions = {}): GuardedPoster {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxResponseBytes = options.maxResponseBytes ?? 8 * 1024;
  const policy = {
    allowLoopback: options.allowLoopback ?? false,
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
  };
  const resolveHost = options.resolveHost ?? resolveWithSystemDns;
  const agent = new Agent({
    connect: createGuardedConnector({ connectTimeoutMs: timeoutMs, ...policy, ca: options.ca, resolveHost }),
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
        const res = await request(url, {
          dispatcher: agent,
          method: 'POST',
          signal,
          headers: {
            ...req.headers,
            'user-agent': userAgent,
            'content-type': req.contentType,
            accept: 'application/json',
          },
          body: req.body,
        });
        const type = String(res.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        // Redirects are answers like any other: a POST is never replayed to a host nobody asked for.
        const body = await readLimitedBody(res.body, maxResponseBytes, url.origin);
        return { status: res.statusCode, contentType: type, body: body.toString('utf8') };
      } catch (err) {
        throw failure(err, url, signal.aborted);
      } finally {
        clearTimeout(timer);
      }
    },
    async assertFetchable(raw) {
      const url = checkUrl(raw);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      if (isIP(host) !== 0) return assertAddressAllowed(host, policy, host);
      assertHostNameAllowed(host, policy);
      let addresses: string[];
      try {
        addresses = await withTimeout(resolveHost(host), timeoutMs, host);
      } catch {
        return;
      }
      for (const address of addresses) assertAddressAllowed(address, policy, host);
    },
    close: () => agent.close(),
  };
}
