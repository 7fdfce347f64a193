import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  compileProxyTrust,
  forwardedCertificateOf,
  isRefusal,
  type ProxyEntry,
  trustedProxyOf,
} from '../shared/client-cert-headers/index.ts';
import type { ForwardedCertificate } from './decision/types.ts';
import { tlsPeerCertificate } from './tls-peer-certificate.ts';

export interface ProxyCertificates {
  /** Every configured proxy address (IP or CIDR): the only connections whose headers are consulted. */
  trustedProxies: string[];
  certificateFromHeaders: (req: IncomingMessage) => ForwardedCertificate | undefined | 'refused';
}

/**
 * The gateway behind TLS-terminating proxies (nginx, Envoy, ALB, any RFC 9440 proxy): the client certificate a
 * configured proxy forwarded, in that proxy's form. A connection from a proxy's address that is not the proxy
 * (it lacks the proxy's pinned certificate) is judged by its own TLS certificate, its headers ignored; a proxy
 * authenticated by its certificate that forwards none leaves the request without one — its own certificate is
 * never taken for a client's. Used by the platform's gateway and by `accredit gateway`.
 */
export function proxyCertificates(entries: readonly ProxyEntry[], clock: () => Date): ProxyCertificates {
  const trust = compileProxyTrust(entries);
  return {
    trustedProxies: entries.map((p) => p.address),
    certificateFromHeaders(req) {
      const socket = req.socket as TLSSocket;
      const proxy = trustedProxyOf(socket, trust, clock());
      if (!proxy) return tlsPeerCertificate(socket);
      const outcome = forwardedCertificateOf(req.headers, proxy);
      if (outcome === undefined)
        return proxy.authenticatedByCertificate ? undefined : tlsPeerCertificate(socket);
      return isRefusal(outcome) ? 'refused' : outcome;
    },
  };
}
