import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { x5tS256 } from '../pki/index.ts';
import {
  chainsToAnchors,
  compileProxyTrust,
  forwardedCertificateOf,
  legacyProxyEntries,
  type ProxyEntry,
  type ProxyForm,
  type Refusal,
  trustedProxyOf,
} from '../shared/client-cert-headers/index.ts';

export interface PresentedCertificate {
  cert: X509Certificate;
  x5t: string;
  /** Chains to the platform CA: verified by the TLS stack, or by us for a certificate a trusted proxy passed on. */
  chainTrusted: boolean;
  /** The TLS peer's own, or the header form a trusted proxy forwarded it in. */
  source: 'tls' | ProxyForm;
}

/** The request's client certificate; a refusal when a trusted proxy forwarded one we cannot read. */
export type CertificateResolution = PresentedCertificate | Refusal | undefined;

/**
 * Finds the client certificate of a request: the TLS peer certificate, or — only when the connection comes
 * from a configured trusted proxy — the certificate that proxy forwarded in its configured form (RFC 9440
 * Client-Cert, NGINX $ssl_client_escaped_cert, Envoy XFCC, AWS ALB X-Amzn-Mtls-Clientcert). From anyone
 * else those headers are ignored, so a client cannot claim someone else's certificate by sending one.
 *
 * A proxy identified by its own client certificate is the TLS peer itself: its certificate is never taken
 * for the client's. A proxy trusted by address alone (`trustedProxies`, as before) forwarding nothing leaves
 * the TLS peer certificate in place, since a client on that address may also connect directly.
 */
export function createCertificateResolver(options: {
  trustedProxies: readonly string[];
  proxies?: readonly ProxyEntry[];
  /** The CA certificates (PEM each); a function when they change at run time (issuing CA rotation). */
  trustedCas: readonly string[] | (() => readonly string[]);
}) {
  const trust = compileProxyTrust([
    ...legacyProxyEntries(options.trustedProxies),
    ...(options.proxies ?? []),
  ]);
  const source = options.trustedCas;
  let parsedFrom: readonly string[] | undefined;
  let parsed: X509Certificate[] = [];
  // Parsed again only when the list handed out changes.
  const trustedNow = (): X509Certificate[] => {
    const pems = typeof source === 'function' ? source() : source;
    if (pems !== parsedFrom) {
      parsed = pems.map((pem) => new X509Certificate(pem));
      parsedFrom = pems;
    }
    return parsed;
  };
  trustedNow();
  const peers = new WeakMap<TLSSocket, PresentedCertificate | null>();

  return function resolveClientCertificate(req: IncomingMessage, now: Date): CertificateResolution {
    const socket = req.socket as TLSSocket;
    const proxy = trustedProxyOf(socket, trust, now);
    if (proxy) {
      const forwarded = forwardedCertificateOf(req.headers, proxy);
      if (forwarded && 'refused' in forwarded) return forwarded;
      if (forwarded) {
        return {
          cert: forwarded.leaf,
          x5t: x5tS256(forwarded.leaf.raw),
          chainTrusted: chainsToAnchors(forwarded.leaf, forwarded.chain, trustedNow(), now),
          source: forwarded.source,
        };
      }
      if (proxy.authenticatedByCertificate) return undefined;
    }
    if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
    // TLS 1.3 has no renegotiation: a connection's peer certificate and its verdict are those of its handshake,
    // parsed and hashed once for every request the connection carries. Under TLS 1.2 a client may renegotiate
    // with another certificate, so it is read afresh each time.
    const fixed = socket.getProtocol?.() === 'TLSv1.3';
    if (fixed) {
      const kept = peers.get(socket);
      if (kept !== undefined) return kept ?? undefined;
    }
    const cert = socket.getPeerX509Certificate();
    const presented: PresentedCertificate | undefined = cert
      ? { cert, x5t: x5tS256(cert.raw), chainTrusted: socket.authorized === true, source: 'tls' }
      : undefined;
    if (fixed) peers.set(socket, presented ?? null);
    return presented;
  };
}

export type CertificateResolver = ReturnType<typeof createCertificateResolver>;
