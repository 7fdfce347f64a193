import { createHash, type X509Certificate } from 'node:crypto';
import { MAX_CHAIN_CERTIFICATES, oversized } from './limits.ts';
import { certificatesFromPem, percentDecoded } from './pem-certificates.ts';
import type { ParseResult } from './types.ts';

export const XFCC_HEADER = 'x-forwarded-client-cert';

type Pair = [key: string, value: string];

const KEY = /^[A-Za-z]+$/;
// Keys that describe the one client certificate: more than one of each in an element is a forgery or a bug.
const SINGLE = new Set(['by', 'hash', 'cert', 'chain', 'subject']);

/**
 * Envoy's `x-forwarded-client-cert`: elements separated by `,`, each `key=value` pairs separated by `;`,
 * keys case-insensitive, a value double-quoted when it holds `,`, `;` or `=` (a `"` inside escaped as `\"`).
 * Returns the elements, or the reason the value does not follow that grammar.
 */
export function splitXfcc(value: string): Pair[][] | string {
  const elements: Pair[][] = [];
  let pairs: Pair[] = [];
  let i = 0;
  const ows = () => {
    while (value[i] === ' ' || value[i] === '\t') i++;
  };
  for (;;) {
    ows();
    const eq = value.indexOf('=', i);
    const key = eq === -1 ? '' : value.slice(i, eq);
    if (!KEY.test(key)) return 'x-forwarded-client-cert: expected key=value';
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) return 'x-forwarded-client-cert: unterminated quoted value';
        const c = value[i];
        if (c === '\\' && value[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
    } else {
      const start = i;
      while (i < value.length && value[i] !== ',' && value[i] !== ';') i++;
      v = value.slice(start, i).replace(/[ \t]+$/, '');
      if (v.includes('=') || v.includes('"')) return 'x-forwarded-client-cert: unquoted value holds = or "';
    }
    pairs.push([key.toLowerCase(), v]);
    ows();
    if (i >= value.length) {
      elements.push(pairs);
      return elements;
    }
    if (value[i] === ',') {
      elements.push(pairs);
      pairs = [];
    } else if (value[i] !== ';') return 'x-forwarded-client-cert: expected , or ; after a value';
    i++;
  }
}

/**
 * The client certificate in the LAST element of `x-forwarded-client-cert`. Envoy documents that each proxy
 * appends its element to the end of the header (APPEND_FORWARD), so the last element is the one the proxy
 * talking to us added about its own downstream peer; earlier elements are what others claimed, and may have
 * been sent by the client itself. (SANITIZE_SET, the recommended setting in front of us, sends just one.)
 * `Cert` is the URL-encoded PEM leaf, `Chain` the URL-encoded PEM chain including the leaf; `Hash` (hex
 * SHA-256 of the leaf DER) must match the leaf when both are there. `By`, `Subject`, `URI` and `DNS` are
 * informative only: the certificate says who the client is. Unknown keys are ignored, as Envoy adds keys.
 */
export function parseEnvoyXfcc(value: string): ParseResult {
  const tooLarge = oversized(XFCC_HEADER, value);
  if (tooLarge) return { refused: tooLarge };
  const elements = splitXfcc(value);
  if (typeof elements === 'string') return { refused: elements };
  const last = elements.at(-1) ?? [];
  const fields = new Map<string, string>();
  for (const [key, v] of last) {
    if (SINGLE.has(key) && fields.has(key))
      return { refused: `${XFCC_HEADER}: ${key} appears twice in an element` };
    fields.set(key, v);
  }
  const cert = fields.get('cert');
  const chainValue = fields.get('chain');
  if (cert === undefined && chainValue === undefined) {
    return {
      refused: `${XFCC_HEADER}: the last element has no Cert (Envoy: set_current_client_cert_details cert: true)`,
    };
  }
  const leafCerts = cert === undefined ? undefined : decodePem('Cert', cert, 1);
  if (typeof leafCerts === 'string') return { refused: leafCerts };
  const chainCerts =
    chainValue === undefined ? undefined : decodePem('Chain', chainValue, 1 + MAX_CHAIN_CERTIFICATES);
  if (typeof chainCerts === 'string') return { refused: chainCerts };
  const leaf = leafCerts?.[0] ?? chainCerts?.[0];
  if (!leaf) return { refused: `${XFCC_HEADER}: no certificate` };
  if (leafCerts && chainCerts && !chainCerts[0]?.raw.equals(leaf.raw)) {
    return { refused: `${XFCC_HEADER}: Chain does not start with Cert` };
  }
  const hash = fields.get('hash');
  if (hash !== undefined && !hashMatches(hash, leaf)) {
    return { refused: `${XFCC_HEADER}: Hash is not the SHA-256 of Cert` };
  }
  return { leaf, chain: chainCerts?.slice(1) ?? [], source: 'envoy-xfcc' };
}

function hashMatches(hash: string, leaf: X509Certificate): boolean {
  if (!/^[0-9A-Fa-f]{64}$/.test(hash)) return false;
  return createHash('sha256').update(leaf.raw).digest('hex') === hash.toLowerCase();
}

function decodePem(key: string, value: string, max: number): X509Certificate[] | string {
  const pem = percentDecoded(value);
  if (pem === undefined) return `${XFCC_HEADER}: ${key} is not URL-encoded PEM (bad %-escape)`;
  return certificatesFromPem(pem, `${XFCC_HEADER}: ${key}`, max);
}
