import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSampleApi, type SampleApiOptions } from './create-sample-api.ts';

export { createSampleApi, type SampleApiOptions } from './create-sample-api.ts';

export interface SampleApiHandle {
  url: string;
  port: number;
  /** What the gateway must send in x-accredit-gateway-secret; never log it. */
  gatewaySecret: string;
  close(): Promise<void>;
}

/**
 * Listens on loopback only, on an ephemeral port by default, and answers only requests carrying the gateway
 * secret: a fresh 256-bit one per start unless given, since any local process can reach a loopback port.
 */
export async function startSampleApi(
  options: Partial<SampleApiOptions> & { port?: number } = {},
): Promise<SampleApiHandle> {
  const gatewaySecret = options.gatewaySecret ?? randomBytes(32).toString('base64url');
  const server = createSampleApi({ ...options, gatewaySecret });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    gatewaySecret,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
