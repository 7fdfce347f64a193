import { Socket } from 'node:net';
import { after } from 'node:test';
import { createRedisReplayCache } from '../../src/shared/replay-cache/index.ts';
import { createStorageReplayCache, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { replayCacheContract } from './replay-cache.contract.ts';

const REDIS_URL = process.env.ACCREDIT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probeRedis(): Promise<string | false> {
  const { hostname, port } = new URL(REDIS_URL);
  const reason = await new Promise<string | false>((resolve) => {
    const socket = new Socket();
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(`Redis not reachable at ${hostname}:${port}: timeout`);
    });
    socket.once('error', (err) => resolve(`Redis not reachable at ${hostname}:${port}: ${err.message}`));
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

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

for (const target of targets) {
  // Two storage handles on one database: two platform nodes.
  replayCacheContract(
    target.name,
    async () => {
      const options = target.freshOptions();
      const first = await openStorage(options);
      const second = await openStorage(options);
      return {
        a: createStorageReplayCache(first.db),
        b: createStorageReplayCache(second.db),
        async close() {
          await second.close();
          await first.close();
        },
      };
    },
    { skip: target.skip },
  );
}

const redisSkip = await probeRedis();
replayCacheContract(
  'redis',
  async () => {
    // Two clients, two connections: two nodes.
    const prefix = `accredit-test:${process.pid}:${Date.now()}:`;
    const a = createRedisReplayCache(REDIS_URL, { prefix });
    const b = createRedisReplayCache(REDIS_URL, { prefix });
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
      },
    };
  },
  { skip: redisSkip },
);
