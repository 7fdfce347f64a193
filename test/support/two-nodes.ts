import { type AddressInfo, createServer } from 'node:net';
import type { Kysely } from 'kysely';
import { openStorage } from '../../src/storage/index.ts';
import type { Database } from '../../src/storage/schema.ts';
import type { EngineTarget } from './engines.ts';
import { REDIS_URL } from './redis.ts';

/**
 * Two handles on the same shared state: two nodes. What the contract suites of the shared stores (replay cache,
 * rate limits) are run against — each store's suite receives a `make` built by one of these.
 */
export interface TwoNodes<T> {
  a: T;
  b: T;
  close(): Promise<void>;
}

/** Two storage handles (two connection pools, two SQLite connections) on one fresh database of `target`. */
export function storageNodes<T>(
  target: EngineTarget,
  create: (db: Kysely<Database>) => T,
): () => Promise<TwoNodes<T>> {
  return async () => {
    const options = target.freshOptions();
    const first = await openStorage(options);
    const second = await openStorage(options).catch(async (err: unknown) => {
      await first.close();
      throw err;
    });
    return {
      a: create(first.db),
      b: create(second.db),
      async close() {
        await second.close();
        await first.close();
      },
    };
  };
}

/** Two Redis clients (two connections) on the test Redis, under one key prefix of their own per call. */
export function redisNodes<T extends { close(): Promise<void> }>(
  label: string,
  create: (url: string, prefix: string) => T,
): () => Promise<TwoNodes<T>> {
  let calls = 0;
  return async () => {
    const prefix = `accredit-test:${label}:${process.pid}:${Date.now()}:${calls++}:`;
    const a = create(REDIS_URL, prefix);
    const b = create(REDIS_URL, prefix);
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
      },
    };
  };
}

/** A redis:// URL nothing listens on (a port bound, noted and closed): a Redis that is down. */
export async function unreachableRedisUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `redis://127.0.0.1:${port}`;
}
