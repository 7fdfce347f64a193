import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RequestShape } from './events.ts';
import { type ApiGatewayOptions, apiGateway } from './harness.ts';

export interface ApiGatewayFront {
  /** https://localhost:PORT — what a partner (or `accredit testplan run --api`) calls. */
  url: string;
  close(): Promise<void>;
}

/**
 * An API Gateway custom domain with mutual TLS in front of the harness: the handshake requires a client
 * certificate chained to the truststore (API Gateway refuses others during the handshake), then each request
 * becomes the authorizer event of the API kind, with the verified leaf as `clientCertPem`, and is answered as
 * API Gateway answers (harness.ts). So any HTTPS client, the onboarding test plan included, can call the Lambda
 * door as a partner would call the real one.
 */
export async function startApiGatewayFront(
  options: ApiGatewayOptions & { truststore: string; tls: { cert: string; key: string } },
): Promise<ApiGatewayFront> {
  const invoke = apiGateway(options);
  const server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.truststore,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      req.resume();
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      // Header names as the client sent them, repeated headers kept: each event kind folds them its own way.
      const headers: Record<string, string[]> = {};
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        if (name.toLowerCase() === 'host' || name.toLowerCase() === 'connection') continue;
        headers[name] = [...(headers[name] ?? []), req.rawHeaders[i + 1]!];
      }
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      const shape: RequestShape = {
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        ...(q === -1 ? {} : { query: url.slice(q + 1) }),
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.length === 1 ? v[0]! : v])),
        ...(peer ? { clientCertPem: peer.toString() } : {}),
      };
      invoke(shape).then(
        (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(answer.body);
        },
        () => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"message":"Internal Server Error"}');
        },
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
