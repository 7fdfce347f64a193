import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRootCa, generateKeyPair, issueServerCertificate } from '../../src/pki/index.ts';

export interface CountingServer {
  /** `https://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** PEM of the CA that issued the server's certificate (127.0.0.1 and localhost). */
  caPem: string;
  /** TCP connections accepted so far: whether anything reached the server at all, before TLS or HTTP. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 that counts every TCP connection it accepts: an SSRF test asserts that a refused
 * fetch never even connected, not merely that it failed.
 */
export async function startCountingServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<CountingServer> {
  const now = new Date(Date.now() - 60_000);
  const root = await createRootCa({ commonName: 'SSRF Test CA', now, validityDays: 2 });
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const cert = await issueServerCertificate({
    issuer: root,
    publicKey,
    commonName: '127.0.0.1',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 2,
    now,
  });
  const server = createServer(
    { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: cert.certPem },
    handler,
  );
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caPem: root.certPem,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
