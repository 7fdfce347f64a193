import { X509Certificate } from 'node:crypto';

/** OpenSSL's verdict on a chain, in OpenSSL's words so both sources read the same downstream. */
export interface ChainVerdict {
  chained: boolean;
  /** e.g. CERT_HAS_EXPIRED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY; undefined when chained. */
  error: string | undefined;
  /** Until when (ms) the verdict holds: the earliest notAfter of the CAs it went through. */
  validUntilMs: number;
}

const MAX_DEPTH = 8;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle (each block parsed by node:crypto); an empty bundle is a configuration fault. */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('the trusted CA bundle holds no PEM certificate');
  return blocks.map((block) => new X509Certificate(block));
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  // Names and key identifiers first (cheap), then the signature itself.
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

function outOfValidity(cert: X509Certificate, nowMs: number): string | undefined {
  if (nowMs > cert.validToDate.getTime()) return 'CERT_HAS_EXPIRED';
  if (nowMs < cert.validFromDate.getTime()) return 'CERT_NOT_YET_VALID';
  return undefined;
}

/**
 * What OpenSSL decides in the handshake, for a certificate no handshake verified (a trusted proxy forwarded
 * it): the leaf is usable for client authentication (its extended key usage, when present), each step is a
 * signature by a CA certificate the caller sent or one of the trusted CAs, every CA is within its validity at
 * `nowMs`, and the path ends at a trusted CA. The leaf's own validity is judged by the caller per request.
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trusted: readonly X509Certificate[],
  nowMs: number,
): ChainVerdict {
  let validUntilMs = Number.POSITIVE_INFINITY;
  const fail = (error: string): ChainVerdict => ({ chained: false, error, validUntilMs });
  const eku = leaf.keyUsage;
  if (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) {
    return fail('INVALID_PURPOSE');
  }
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = trusted.find((ca) => issuedBy(current, ca));
    if (anchor !== undefined) {
      const invalid = outOfValidity(anchor, nowMs);
      if (invalid) return fail(invalid);
      validUntilMs = Math.min(validUntilMs, anchor.validToDate.getTime());
      return { chained: true, error: undefined, validUntilMs };
    }
    const next = intermediates.find((ca) => ca !== current && ca.ca && issuedBy(current, ca));
    if (next === undefined) {
      // Self-issued and self-verifying (checkIssued would also demand keyCertSign, which a leaf lacks).
      const selfSigned = depth === 0 && leaf.subject === leaf.issuer && leaf.verify(leaf.publicKey);
      return fail(selfSigned ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    }
    const invalid = outOfValidity(next, nowMs);
    if (invalid) return fail(invalid);
    validUntilMs = Math.min(validUntilMs, next.validToDate.getTime());
    current = next;
  }
  return fail('CERT_CHAIN_TOO_LONG');
}
