import { createHash, type X509Certificate } from 'node:crypto';
import type { AcceptedCertificate } from '../check-client-certificate.ts';
import type { ForwardedCertificate } from './types.ts';
import { verifyChain } from './verify-chain.ts';

// Forwarded certificates arrive as new objects on every request: their chain verdicts are kept by content.
const MAX_VERIFIED = 4096;

interface Verified {
  description: AcceptedCertificate;
  validUntilMs: number;
}

function describe(
  leaf: X509Certificate,
  x5tS256: string,
  chained: boolean,
  error: string | undefined,
): AcceptedCertificate {
  return {
    x5tS256,
    x5tS256Bytes: Buffer.from(x5tS256),
    subject: leaf.subject.split('\n').join(', '),
    notBeforeMs: leaf.validFromDate.getTime(),
    notAfterMs: leaf.validToDate.getTime(),
    chained,
    verifyError: error,
    issuedTo: undefined,
    selfSignedOwner: undefined,
    leaf,
  };
}

/**
 * Step 1's view of a client certificate, whichever door it came through: a TLS peer OpenSSL verified keeps
 * OpenSSL's verdict; any other (forwarded by a trusted proxy, or a peer no handshake verified) is chained to
 * the trusted CAs here, so it meets exactly the checks a TLS peer meets.
 */
export function createCertificateDescriber(trusted: readonly X509Certificate[], clock: () => Date) {
  // A connection's TLS certificate object is reused by its door for every request on it: described once.
  const perObject = new WeakMap<ForwardedCertificate, AcceptedCertificate>();
  const verified = new Map<string, Verified>();
  return function describeCertificate(cert: ForwardedCertificate): AcceptedCertificate {
    const known = perObject.get(cert);
    if (known !== undefined) return known;
    if (cert.source === 'tls' && cert.tlsVerified !== undefined) {
      const x5t = createHash('sha256').update(cert.leaf.raw).digest('base64url');
      const { authorized, error } = cert.tlsVerified;
      const description = describe(cert.leaf, x5t, authorized, authorized ? undefined : error);
      perObject.set(cert, description);
      return description;
    }
    const x5t = createHash('sha256').update(cert.leaf.raw).digest('base64url');
    let key = x5t;
    for (const ca of cert.chain) key += `.${ca.fingerprint256}`;
    const nowMs = clock().getTime();
    const hit = verified.get(key);
    if (hit !== undefined && nowMs <= hit.validUntilMs) return hit.description;
    const verdict = verifyChain(cert.leaf, cert.chain, trusted, nowMs);
    const description = describe(cert.leaf, x5t, verdict.chained, verdict.error);
    if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value as string);
    verified.set(key, { description, validUntilMs: verdict.chained ? verdict.validUntilMs : nowMs + 60_000 });
    perObject.set(cert, description);
    return description;
  };
}
