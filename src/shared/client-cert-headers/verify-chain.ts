import type { X509Certificate } from 'node:crypto';
import { MAX_CHAIN_CERTIFICATES } from './limits.ts';

function valid(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && new Date(cert.validTo) >= now;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Whether a forwarded leaf chains to one of the trust anchors, as OpenSSL would check a TLS peer: each
 * certificate within its validity and signed by the next, the intermediates (the proxy's chain, which may be
 * in any order and carry extras) CA certificates, ending at an anchor that is one. Names and signatures are
 * checked by node:crypto (checkIssued, verify). The chain only helps build the path; it never adds trust.
 */
export function chainsToAnchors(
  leaf: X509Certificate,
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: Date,
): boolean {
  if (!valid(leaf, now)) return false;
  const unused = chain.filter((c) => c.ca && valid(c, now));
  let current = leaf;
  for (let depth = 0; depth <= MAX_CHAIN_CERTIFICATES; depth++) {
    if (anchors.some((anchor) => valid(anchor, now) && issuedBy(current, anchor))) return true;
    const next = unused.findIndex((c) => issuedBy(current, c));
    if (next === -1) return false;
    current = unused.splice(next, 1)[0] as X509Certificate;
  }
  return false;
}
