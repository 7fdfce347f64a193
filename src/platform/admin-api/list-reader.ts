import { Worker } from 'node:worker_threads';
import type { ApplicationFilter } from '../../directory/index.ts';
import type { CertificateFilter } from '../../pki/index.ts';
import { AppError } from '../../shared/app-error.ts';
import type { PageRequest } from '../../shared/page-cursor.ts';

export type ListRequest = { id: number; now: string; page: PageRequest } & (
  | { list: 'applications'; filter: ApplicationFilter }
  | {
      list: 'organisations';
      filter: { status?: 'active' | 'suspended' | 'offboarded' | undefined; namePrefix?: string | undefined };
    }
  | { list: 'certificates'; filter: CertificateFilter }
  | { list: 'role-holders'; filter: { role?: string | undefined } }
  // Not a page (its `page` is unused): the role-holder counts join every grant to its application.
  | { list: 'access-review-summary'; filter: Record<string, never> }
  | { list: 'inactive-clients'; filter: { inactiveDays: number } }
  | { list: 'expiring-certificates'; filter: { expiringDays: number } }
);

export type ListResponse =
  | { id: number; json: string }
  /** The page as UTF-8 bytes, their buffer transferred (not copied) to the main thread. */
  | { id: number; body: Uint8Array }
  | { id: number; error: { code: string; status: number; message: string } };

type Query = ListRequest extends infer R ? (R extends ListRequest ? Omit<R, 'id'> : never) : never;

/**
 * Reads admin list pages in a worker thread with its own connection (SQLite in WAL mode: readers never wait
 * for the writer; PostgreSQL: a small pool of its own) and answers each as UTF-8 JSON bytes ready to send: the
 * query (synchronous on SQLite), the rows' parsing, their serialisation and its UTF-8 encoding never run on the
 * main thread (encoding a 1,000-row page there blocked the event loop ~4 ms). Not for an in-memory SQLite
 * database, which has no second connection.
 */
export interface ListReader {
  page(query: Query): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startListReader(url: string, schema?: string | undefined): Promise<ListReader> {
  const worker = new Worker(new URL('./list-worker.ts', import.meta.url), { workerData: { url, schema } });
  const waiting = new Map<number, { resolve(body: Buffer): void; reject(err: Error): void }>();
  let next = 1;
  let failure: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      worker.off('error', reject);
      resolve();
    });
  });
  worker.on('message', (m: ListResponse) => {
    const pending = waiting.get(m.id);
    if (!pending) return;
    waiting.delete(m.id);
    if ('body' in m) pending.resolve(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength));
    else if ('json' in m) pending.resolve(Buffer.from(m.json, 'utf8'));
    else pending.reject(new AppError(m.error.code, m.error.status, m.error.message));
  });
  const fail = (err: Error) => {
    failure = err;
    for (const pending of waiting.values()) pending.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the list reader stopped')));
  // A worker waiting for requests must not keep a stopping process alive.
  worker.unref();
  return {
    page(query) {
      if (failure) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ ...query, id });
      });
    },
    async close() {
      worker.postMessage({ type: 'close' });
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await new Promise((resolve) => worker.once('exit', resolve));
      clearTimeout(timer);
    },
  };
}
