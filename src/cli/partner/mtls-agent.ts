import { Agent } from 'undici';
import { CliError } from '../cli-error.ts';
import type { PartnerCredentials } from './credentials.ts';

/**
 * One keep-alive undici dispatcher presenting the partner certificate and trusting only `ca` (or the
 * system roots when no bundle is known). Every request of a command goes through it.
 */
export function createMtlsAgent(credentials: PartnerCredentials, ca: string | undefined): Agent {
  return new Agent({
    connect: {
      cert: credentials.certPem,
      key: credentials.keyPem,
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
  });
}

const TLS_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused; is the platform running?',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed; pass --ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate is not trusted; pass --ca with the platform CA bundle',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the server certificate is not trusted; pass --ca with the platform CA bundle',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the server certificate is not trusted; pass --ca with the platform CA bundle',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this host',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
};

/** A transport failure (refused, TLS, timeout) as one line naming the URL; undefined for anything else. */
export function transportError(err: unknown, url: string): CliError | undefined {
  // undici's fetch wraps the socket error as TypeError('fetch failed', { cause }).
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = e.code;
    if (code && (TLS_HINTS[code] || /^(E[A-Z]+|ERR_(SSL|TLS)_\w+|UND_ERR_\w+)$/.test(code))) {
      // A server that refuses the client certificate ends the handshake with an alert (RFC 8446 §6.2).
      const hint =
        TLS_HINTS[code] ??
        (/_ALERT_/.test(code)
          ? 'the server refused the TLS handshake; is the certificate issued by this platform and not revoked?'
          : undefined);
      return new CliError(`cannot reach ${url}: ${hint ? `${code}, ${hint}` : code}`, 'unreachable');
    }
    e = e.cause as typeof e;
  }
  return undefined;
}
