import { type AddressInfo, connect, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { serverTls } from '../gateway/decision/server-tls.ts';

export const REDIS_URL = process.env.ACCREDIT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * False when Redis answers at REDIS_URL; else the reason, printed — and thrown when ACCREDIT_TEST_REDIS=required
 * (CI), so a missing Redis fails the run instead of skipping its tests.
 */
export async function probeRedis(): Promise<string | false> {
  const { hostname, port } = new URL(REDIS_URL);
  const reason = await new Promise<string | false>((resolve) => {
    const socket = new Socket();
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(`Redis not reachable at ${hostname}:${port || 6379}: timeout`);
    });
    socket.once('error', (err) =>
      resolve(`Redis not reachable at ${hostname}:${port || 6379}: ${err.message}`),
    );
    socket.connect(Number(port || 6379), hostname, () => {
      socket.end();
      resolve(false);
    });
  });
  if (reason && process.env.ACCREDIT_TEST_REDIS === 'required') {
    throw new Error(`${reason} (ACCREDIT_TEST_REDIS=required)`);
  }
  if (reason) console.log(`# skipping Redis tests: ${reason}`);
  return reason;
}

/**
 * A TLS terminator in front of the test Redis with a throwaway certificate for 127.0.0.1: `url` is its
 * rediss:// address, `ca` the PEM a client must trust to reach it.
 */
export async function redisBehindTls(): Promise<{ url: string; ca: string; close(): void }> {
  const tls = await serverTls();
  const target = new URL(REDIS_URL);
  const proxy = createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `rediss://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    ca: tls.cert,
    close: () => proxy.close(),
  };
}
