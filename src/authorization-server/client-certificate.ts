import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { x5tS256 } from '../pki/index.ts';

export interface PresentedCertificate {
  cert: X509Certificate;
  x5t: string;
  /** Chains to the platform CA: verified by the TLS stack, or by us for a certificate a trusted proxy passed on. */
  chainTrusted: boolean;
  source: 'tls' | 'client-cert-header';
}

function normaliseAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** RFC 9440 §2.1: Client-Cert is an RFC 8941 Byte Sequence, `:<base64 DER>:`. */
function parseClientCertHeader(value: string): X509Certificate | undefined {
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value.trim());
  if (!match?.[1]) return undefined;
  try {
    return new X509Certificate(Buffer.from(match[1], 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * Finds the client certificate of a request: the TLS peer certificate, or — only when the connection comes
 * from a configured trusted proxy — the RFC 9440 Client-Cert header. From anyone else the header is ignored,
 * so a client cannot claim someone else's certificate by sending the header itself.
 */
export function createCertificateResolver(options: {
  trustedProxies: readonly string[];
  trustedCas: readonly string[];
}) {
  const proxies = new Set(options.trustedProxies.map(normaliseAddress));
  const cas = options.trustedCas.map((pem) => new X509Certificate(pem));

  function chainsToPlatformCa(cert: X509Certificate, now: Date): boolean {
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) return false;
    return cas.some((ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey));
  }

  return function resolveClientCertificate(
    req: IncomingMessage,
    now: Date,
  ): PresentedCertificate | undefined {
    const header = req.headers['client-cert'];
    if (typeof header === 'string' && proxies.has(normaliseAddress(req.socket.remoteAddress))) {
      const cert = parseClientCertHeader(header);
      if (!cert) return undefined;
      return {
        cert,
        x5t: x5tS256(cert.raw),
        chainTrusted: chainsToPlatformCa(cert, now),
        source: 'client-cert-header',
      };
    }
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
    const cert = socket.getPeerX509Certificate();
    if (!cert) return undefined;
    return { cert, x5t: x5tS256(cert.raw), chainTrusted: socket.authorized === true, source: 'tls' };
  };
}

export type CertificateResolver = ReturnType<typeof createCertificateResolver>;
