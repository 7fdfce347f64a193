import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** What the gateway asserts to the upstream; the upstream trusts these and nothing else. */
export interface IdentityHeaders {
  'x-accredit-client-id'?: string;
  'x-accredit-org-id'?: string;
  'x-accredit-scopes'?: string;
  'x-accredit-roles'?: string;
  'x-accredit-cert-x5t-s256': string;
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

// Credentials and client-asserted identity: never passed on, so the upstream cannot be fooled by a partner.
const STRIPPED_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'authorization',
  'proxy-authorization',
  'dpop',
  // RFC 9440 and the ad-hoc forms proxies use for a client certificate.
  'client-cert',
  'client-cert-chain',
  'x-client-cert',
  'ssl-client-cert',
  'x-ssl-client-cert',
  'x-forwarded-client-cert',
  // Replaced by the gateway's own values.
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-request-id',
]);

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
    if (value === undefined || STRIPPED_REQUEST.has(name) || name.startsWith('x-accredit-')) continue;
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

/** The upstream's response headers for the client, minus hop-by-hop fields (RFC 9110 §7.6.1). */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || (listed.length > 0 && listed.includes(name))) continue;
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}
