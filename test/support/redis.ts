import { Socket } from 'node:net';

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
