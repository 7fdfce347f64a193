import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Carries the secret the gateway shares with its upstream, so the upstream can tell gateway traffic from any
 * other caller's. Inbound it is stripped with the rest of the `x-accredit-` prefix; it is never sent back.
 */
export const GATEWAY_SECRET_HEADER = 'x-accredit-gateway-secret';

/** What the gateway asserts to the upstream; the upstream trusts these and nothing else. */
export interface IdentityHeaders {
  'x-accredit-client-id'?: string;
  'x-accredit-org-id'?: string;
  'x-accredit-scopes'?: string;
  'x-accredit-roles'?: string;
  /** sandbox | production: the client's environment (issue 15). */
  'x-accredit-environment'?: string;
  /** Absent when no certificate was presented (an `mtls: optional` operation). */
  'x-accredit-cert-x5t-s256'?: string;
  'x-accredit-token-jti'?: string;
  'x-request-id': string;
}

// RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy ones proxies still meet.
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

// Credentials and forwarding facts: never passed on; the gateway sets its own forwarding facts.
const STRIPPED_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'authorization',
  'proxy-authorization',
  'dpop',
  // Replaced by the gateway's own values.
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'x-request-id',
]);

/**
 * Any header an upstream (or a proxy in front of it) may take as a statement of who the client is: our own
 * prefix, RFC 9440 Client-Cert / Client-Cert-Chain and the ad-hoc certificate headers of NGINX, Apache,
 * HAProxy, Envoy (XFCC), Traefik, IIS ARR and AWS (X-Amzn-Mtls-*), verification results (X-SSL-Client-Verify,
 * SSL_CLIENT_S_DN), and the authenticated-user headers of auth proxies (X-Remote-User, X-Auth-Request-*,
 * X-Amzn-Oidc-*). Matched on the name with `_` read as `-`: CGI/WSGI upstreams map one to the other.
 */
const IDENTITY_HEADER =
  /^(?:x-accredit-|x-ssl-|ssl-|x-tls-|tls-client-|x-mtls-|x-amzn-mtls-|x-amzn-oidc-|x-auth-request-|x-forwarded-(?:tls-|ssl-|user|email|preferred-username|groups|access-token)|x-client-(?:verify|dn|s-dn|i-dn|subject|issuer|serial|fingerprint|cert)|x-remote-|remote-user$|x-authenticated-|x-user$|x-arr-clientcert)|client-?cert/;

// Names repeat from request to request: each one is judged once (bounded, so random names cannot grow it).
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 4096;

/** Whether an inbound header is removed before the request goes upstream. */
export function isStrippedRequestHeader(name: string): boolean {
  const known = verdicts.get(name);
  if (known !== undefined) return known;
  const dashed = name.includes('_') ? name.replaceAll('_', '-') : name;
  const stripped = STRIPPED_REQUEST.has(dashed) || IDENTITY_HEADER.test(dashed);
  if (verdicts.size < MAX_VERDICTS) verdicts.set(name, stripped);
  return stripped;
}

const NO_TOKENS: string[] = [];

function connectionTokens(value: string | string[] | undefined): string[] {
  // The common values name no extra hop-by-hop field: no split, no allocation.
  if (value === undefined || value === 'keep-alive' || value === 'close') return NO_TOKENS;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

/** The request headers for the upstream: inbound identity, credentials and hop-by-hop removed, ours added. */
export function upstreamRequestHeaders(
  inbound: IncomingHttpHeaders,
  identity: IdentityHeaders,
  client: { address: string | undefined },
): Record<string, string | string[]> {
  const listed = connectionTokens(inbound.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in inbound) {
    const value = inbound[name];
    if (value === undefined || isStrippedRequestHeader(name)) continue;
    if (listed.length > 0 && listed.includes(name)) continue;
    out[name] = value;
  }
  if (client.address) out['x-forwarded-for'] = client.address;
  out['x-forwarded-proto'] = 'https';
  if (typeof inbound.host === 'string') out['x-forwarded-host'] = inbound.host;
  for (const name in identity) {
    const value = identity[name as keyof IdentityHeaders];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The upstream's response headers for the client, minus hop-by-hop fields (RFC 9110 §7.6.1) and the secret. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || (listed.length > 0 && listed.includes(name))) continue;
    // An upstream that reflects request headers must not hand the shared secret to the client.
    if (name === GATEWAY_SECRET_HEADER) continue;
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}
