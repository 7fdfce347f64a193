import type { IncomingHttpHeaders } from 'node:http';
import { ALB_CHAIN_HEADER, ALB_LEAF_HEADER, parseAwsAlb } from './aws-alb.ts';
import { parseEnvoyXfcc, XFCC_HEADER } from './envoy-xfcc.ts';
import { parseNginx } from './nginx.ts';
import { parseRfc9440 } from './rfc9440.ts';
import {
  type ProxyConnection,
  type ProxyTrust,
  type TrustedProxy,
  trustedProxyOf,
} from './trusted-proxies.ts';
import type { ParseResult } from './types.ts';

/** What a request says of its client certificate through a proxy: one, a refusal, or nothing forwarded. */
export type ProxyHeaderOutcome = ParseResult | undefined;

/** One header's value; a repeated one (an array) is refused rather than guessed at, empty counts as absent. */
function single(headers: IncomingHttpHeaders, name: string): string | undefined | { refused: string } {
  const value = headers[name];
  if (Array.isArray(value)) return { refused: `${name} sent more than once` };
  return value === '' ? undefined : value;
}

/**
 * The certificate the given (already trusted) proxy forwarded, in the one form it is configured for; headers
 * of the other forms are not read. Undefined when the proxy forwarded none (its client sent no certificate).
 */
export function forwardedCertificateOf(
  headers: IncomingHttpHeaders,
  proxy: TrustedProxy,
): ProxyHeaderOutcome {
  switch (proxy.form) {
    case 'rfc9440': {
      const cert = single(headers, 'client-cert');
      const chain = single(headers, 'client-cert-chain');
      if (typeof cert === 'object') return cert;
      if (typeof chain === 'object') return chain;
      if (cert === undefined) {
        // RFC 9440 §2.2: Client-Cert-Chain only ever accompanies Client-Cert.
        return chain === undefined ? undefined : { refused: 'Client-Cert-Chain without Client-Cert' };
      }
      return parseRfc9440(cert, chain);
    }
    case 'nginx': {
      const name = proxy.header ?? 'x-client-cert';
      const value = single(headers, name);
      if (typeof value === 'object') return value;
      return value === undefined ? undefined : parseNginx(value, name);
    }
    case 'envoy-xfcc': {
      const value = single(headers, XFCC_HEADER);
      if (typeof value === 'object') return value;
      return value === undefined ? undefined : parseEnvoyXfcc(value);
    }
    case 'aws-alb': {
      const chain = single(headers, ALB_CHAIN_HEADER);
      const leaf = single(headers, ALB_LEAF_HEADER);
      if (typeof chain === 'object') return chain;
      if (typeof leaf === 'object') return leaf;
      return chain === undefined && leaf === undefined ? undefined : parseAwsAlb(chain, leaf);
    }
  }
}

/**
 * For a gateway (or any listener) behind TLS-terminating proxies: the client certificate a trusted proxy
 * forwarded, in that proxy's configured form. Undefined when the connection is not from a trusted proxy —
 * every proxy header is then ignored, so a client cannot claim another's certificate by sending one — or when
 * the proxy forwarded none. A `{ refused }` carries a reason safe to return to the caller. The certificate is
 * only parsed here: the caller checks chain, validity, revocation and ownership as for a TLS peer.
 */
export function certificateFromProxyHeaders(
  req: { headers: IncomingHttpHeaders; socket: ProxyConnection },
  trust: ProxyTrust,
  now: Date = new Date(),
): ProxyHeaderOutcome {
  const proxy = trustedProxyOf(req.socket, trust, now);
  return proxy ? forwardedCertificateOf(req.headers, proxy) : undefined;
}
