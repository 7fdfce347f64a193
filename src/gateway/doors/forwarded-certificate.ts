import { X509Certificate } from 'node:crypto';
import type { ForwardedCertificate } from '../decision/types.ts';

/**
 * The client certificate an authenticated edge (nginx, Envoy) sent with a decision request. Minimal readers
 * of the two forms the HTTP doors meet; the proxy-certificate module of the platform (src/shared/
 * client-cert-headers) reads every form and may replace these.
 */

const MAX_HEADER = 32 * 1024;

function certificateOf(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** nginx `$ssl_client_escaped_cert`: the leaf as URL-encoded PEM; empty when the client sent none. */
export function readEscapedPem(value: string | undefined, source: ForwardedCertificate['source']) {
  if (value === undefined || value === '' || value === '-') return undefined;
  if (value.length > MAX_HEADER) return 'refused' as const;
  const pem = decoded(value);
  const leaf = pem === undefined ? undefined : certificateOf(pem);
  if (leaf === undefined) return 'refused' as const;
  return { leaf, chain: [], source } satisfies ForwardedCertificate;
}

/** Splits on `sep` outside double quotes (XFCC values may be quoted). */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  const v = value.trim();
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/**
 * Envoy `x-forwarded-client-cert`: comma-separated elements, one per proxy hop; the last was added by the
 * Envoy that terminated the client's TLS. Its `Cert` is the URL-encoded PEM leaf, `Chain` the URL-encoded
 * PEM chain (leaf first) when Envoy is told to forward it.
 */
export function readXfcc(value: string | undefined): ForwardedCertificate | undefined | 'refused' {
  if (value === undefined || value === '') return undefined;
  if (value.length > MAX_HEADER * 4) return 'refused';
  const elements = splitOutsideQuotes(value, ',');
  const last = elements[elements.length - 1] ?? '';
  const fields = new Map<string, string>();
  for (const pair of splitOutsideQuotes(last, ';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields.set(pair.slice(0, eq).trim().toLowerCase(), unquote(pair.slice(eq + 1)));
  }
  const cert = fields.get('cert');
  if (cert === undefined) return undefined;
  const leafPem = decoded(cert);
  const leaf = leafPem === undefined ? undefined : certificateOf(leafPem);
  if (leaf === undefined) return 'refused';
  const chain: X509Certificate[] = [];
  const chainPem = fields.has('chain') ? decoded(fields.get('chain') as string) : undefined;
  for (const block of chainPem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ??
    []) {
    const ca = certificateOf(block);
    if (ca === undefined) return 'refused';
    if (ca.fingerprint256 !== leaf.fingerprint256) chain.push(ca);
  }
  return { leaf, chain, source: 'envoy-xfcc' };
}
