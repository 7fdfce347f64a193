import {
  isRefusal,
  type ParseResult,
  parseEnvoyXfcc,
  parseNginx,
} from '../../shared/client-cert-headers/index.ts';
import type { ForwardedCertificate } from '../decision/types.ts';

/**
 * The client certificate an authenticated edge (nginx, Envoy) sent with a decision request, read by the same
 * parsers as a trusted proxy's headers (src/shared/client-cert-headers): an absent or empty header is no
 * certificate, a value they refuse is a refused certificate.
 */
function read(
  value: string | undefined,
  parse: (value: string) => ParseResult,
): ForwardedCertificate | undefined | 'refused' {
  if (value === undefined || value === '' || value === '-') return undefined;
  const parsed = parse(value);
  return isRefusal(parsed) ? 'refused' : parsed;
}

/** nginx `$ssl_client_escaped_cert` in the configured header: the leaf as URL-encoded PEM. */
export function readEscapedPem(value: string | undefined, header: string) {
  return read(value, (v) => parseNginx(v, header));
}

/** Envoy `x-forwarded-client-cert`: the last element, the one the Envoy that terminated the client's TLS added. */
export function readXfcc(value: string | undefined) {
  return read(value, parseEnvoyXfcc);
}
