import { Agent, request } from 'undici';

/** What came back: an HTTP answer, or the connection failed (refused handshake, reset, timeout). */
export type Answer =
  | {
      kind: 'http';
      status: number;
      /** The RFC 9457 problem's `code` (or an RFC 6749 `error`) when the body carries one. */
      code: string | undefined;
      /** The `error` of a Bearer WWW-Authenticate challenge (RFC 6750 §3). */
      challenge: string | undefined;
      body: unknown;
    }
  | { kind: 'transport'; code: string; message: string };

/**
 * A dispatcher that presents `cert` (when given) and trusts only `ca` for the servers. No TLS session is
 * cached, so every connection proves the certificate again, as a new partner process would; with
 * `connectionPerRequest`, every request is a new connection (a door may judge certificates only there).
 */
export function partnerAgent(
  ca: string | undefined,
  credential?: { certPem: string; keyPem: string },
  connectionPerRequest = false,
): Agent {
  return new Agent({
    // undici: pipelining 0 turns keep-alive off.
    ...(connectionPerRequest ? { pipelining: 0 } : {}),
    connect: {
      ...(credential ? { cert: credential.certPem, key: credential.keyPem } : {}),
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      maxCachedSessions: 0,
    },
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
}

/** The innermost useful error code of a failed request (undici wraps socket and TLS errors). */
export function errorCode(err: unknown): { code: string; message: string } {
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  let found: { code: string; message: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string') found = { code: e.code, message: e.message ?? '' };
    e = e.cause as typeof e;
  }
  return found ?? { code: 'error', message: (err as Error)?.message ?? String(err) };
}

function challengeError(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(', ') : header;
  return value ? /\berror="([^"]*)"/.exec(value)?.[1] : undefined;
}

/** One request; never throws: a failure to connect is an answer too (the refused-certificate case needs it). */
export async function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  try {
    const res = await request(url, {
      method: method as 'GET',
      dispatcher: agent,
      headers: { accept: 'application/json', ...headers },
      body,
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? '' : JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
      code?: unknown;
      error?: unknown;
    };
    const code =
      typeof fields.code === 'string'
        ? fields.code
        : typeof fields.error === 'string'
          ? fields.error
          : undefined;
    return {
      kind: 'http',
      status: res.statusCode,
      code,
      challenge: challengeError(res.headers['www-authenticate']),
      body: parsed,
    };
  } catch (err) {
    return { kind: 'transport', ...errorCode(err) };
  }
}

/**
 * nginx with `ssl_verify_client on` completes the handshake and refuses a certificate it cannot verify
 * (untrusted, revoked by its `ssl_crl`, none sent) with its own HTML `400 The SSL certificate error` /
 * `400 No required SSL certificate was sent` page: the edge refusing the certificate, not a malformed request.
 */
const NGINX_CERTIFICATE_REFUSAL =
  /<title>400 (The SSL certificate error|No required SSL certificate was sent)<\/title>/;

export function nginxRefusedCertificate(answer: Answer): string | undefined {
  if (answer.kind !== 'http' || answer.status !== 400 || typeof answer.body !== 'string') return undefined;
  return NGINX_CERTIFICATE_REFUSAL.exec(answer.body)?.[1];
}

/** `401 invalid_token`, `400 nginx: The SSL certificate error`, or `connection failed: ECONNRESET`. */
export function describe(answer: Answer): string {
  if (answer.kind === 'transport') return `connection failed: ${answer.code}`;
  const nginx = nginxRefusedCertificate(answer);
  if (nginx) return `400 nginx: ${nginx}`;
  const why = answer.code ?? answer.challenge;
  return why ? `${answer.status} ${why}` : String(answer.status);
}

/**
 * Whether a failed connection is the server refusing the client certificate: a TLS alert, or (TLS 1.3, where
 * the client finishes its handshake first) the connection closed on the first request.
 */
export function refusedHandshake(answer: Answer): boolean {
  return (
    answer.kind === 'transport' &&
    /ALERT|ERR_SSL|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED/.test(answer.code)
  );
}

/** `base` + origin-form `path`, keeping a base path (an API Gateway stage such as `/prod`). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}
