import { MAX_CHAIN_CERTIFICATES, oversized } from './limits.ts';
import { certificatesFromPem, percentDecoded } from './pem-certificates.ts';
import type { ParseResult } from './types.ts';

/** The header NGINX is configured to send `$ssl_client_escaped_cert` in, unless the proxy entry names another. */
export const NGINX_DEFAULT_HEADER = 'x-client-cert';

/**
 * NGINX `proxy_set_header X-Client-Cert $ssl_client_escaped_cert;`: the leaf certificate as URL-encoded PEM
 * (NGINX forwards no chain in this variable). The deprecated `$ssl_client_cert` — raw PEM with every line
 * after the first prefixed by a tab, relying on obsolete header folding — is refused by name, so the operator
 * sees what to change rather than a generic parse failure.
 */
export function parseNginx(value: string, header = NGINX_DEFAULT_HEADER): ParseResult {
  const tooLarge = oversized(header, value);
  if (tooLarge) return { refused: tooLarge };
  // URL-encoding leaves no whitespace; raw PEM always has some (`BEGIN CERTIFICATE`, the folded lines).
  if (/\s/.test(value)) {
    return {
      refused: `${header} holds raw PEM (NGINX $ssl_client_cert, deprecated); configure $ssl_client_escaped_cert`,
    };
  }
  const pem = percentDecoded(value);
  if (pem === undefined) return { refused: `${header} is not URL-encoded PEM (bad %-escape)` };
  const certs = certificatesFromPem(pem, header, 1 + MAX_CHAIN_CERTIFICATES);
  if (typeof certs === 'string') return { refused: certs };
  const [leaf, ...rest] = certs;
  if (!leaf || rest.length > 0) return { refused: `${header} must hold exactly one certificate` };
  return { leaf, chain: [], source: 'nginx' };
}
