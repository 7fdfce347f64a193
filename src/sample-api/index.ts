import type { AddressInfo } from 'node:net';
import { createSampleApi, type SampleApiOptions } from './create-sample-api.ts';

export { createSampleApi, type SampleApiOptions } from './create-sample-api.ts';

export interface SampleApiHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on loopback only, on an ephemeral port by default: the gateway is meant to be its only client. */
export async function startSampleApi(
  options: SampleApiOptions & { port?: number } = {},
): Promise<SampleApiHandle> {
  const server = createSampleApi(options);
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
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
