import type { TLSSocket } from 'node:tls';
import type { ForwardedCertificate } from './decision/types.ts';

// Keep-alive requests reuse the connection's certificate: one description per TLS socket, which the core in
// turn describes (hashes, judges the chain of) once.
const perSocket = new WeakMap<TLSSocket, ForwardedCertificate | null>();

/** The client certificate of a TLS connection, with OpenSSL's verdict on its chain from the handshake. */
export function tlsPeerCertificate(socket: TLSSocket): ForwardedCertificate | undefined {
  let known = perSocket.get(socket);
  if (known === undefined) {
    const peer = socket.getPeerX509Certificate();
    const error = socket.authorizationError;
    known =
      peer === undefined
        ? null
        : {
            leaf: peer,
            chain: [],
            source: 'tls',
            tlsVerified: {
              authorized: socket.authorized === true,
              error: error === undefined || error === null ? undefined : String(error),
            },
          };
    perSocket.set(socket, known);
  }
  return known ?? undefined;
}
