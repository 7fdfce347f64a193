import { X509Certificate } from 'node:crypto';

// One PEM certificate block (RFC 7468 §2, strict: base64 lines only between the labels).
const BLOCK = /-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM text that holds CERTIFICATE blocks and nothing else (whitespace between blocks
 * allowed); a string otherwise: the reason. The DER inside is parsed by node:crypto, never by us.
 */
export function certificatesFromPem(pem: string, what: string, max: number): X509Certificate[] | string {
  const bodies: string[] = [];
  let end = 0;
  for (const match of pem.matchAll(BLOCK)) {
    // Whatever lies between blocks must be whitespace: no keys, no other labels, no stray text.
    if (pem.slice(end, match.index).trim() !== '') return `${what} holds text that is not a PEM certificate`;
    if (bodies.length === max) return `${what} holds more than ${max} certificates`;
    bodies.push(match[1] ?? '');
    end = match.index + match[0].length;
  }
  if (bodies.length === 0) return `${what} holds no PEM certificate`;
  if (pem.slice(end).trim() !== '') return `${what} holds text that is not a PEM certificate`;
  const out: X509Certificate[] = [];
  for (const body of bodies) {
    try {
      out.push(new X509Certificate(Buffer.from(body.replace(/\s+/g, ''), 'base64')));
    } catch {
      return `${what} holds a certificate that is not valid DER X.509`;
    }
  }
  return out;
}

/** decodeURIComponent without the throw: a malformed %-escape is a refusal, not a 500. */
export function percentDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** An X509Certificate from DER bytes, or undefined when node:crypto cannot read them as one. */
export function certificateFromDer(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}
