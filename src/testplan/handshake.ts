import { isIP } from 'node:net';
import { connect } from 'node:tls';

/**
 * A bare TLS handshake presenting the client certificate; resolves with the negotiated protocol. Under
 * TLS 1.3 the server judges the certificate after the client has finished, so this proves the transport
 * only; an HTTP answer over it is what proves the certificate was accepted.
 */
export function tlsHandshake(
  url: string,
  credential: { certPem: string; keyPem: string },
  ca: string | undefined,
): Promise<string> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host,
        port: Number(u.port || 443),
        ...(isIP(host) ? {} : { servername: host }),
        cert: credential.certPem,
        key: credential.keyPem,
        ...(ca === undefined ? {} : { ca }),
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
      },
      () => {
        const protocol = socket.getProtocol() ?? 'unknown';
        socket.end();
        resolve(protocol);
      },
    );
    socket.setTimeout(10_000, () =>
      socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    socket.once('error', reject);
  });
}
