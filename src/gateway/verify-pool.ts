import { Worker } from 'node:worker_threads';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import type { PoolRequest, PoolResponse, PoolVerifyOptions, VerifyOutcome } from './verify-pool-protocol.ts';

/** The JWKS the pool's threads verify against, kept current by the owning thread's resolver (jwks.ts). */
export interface PoolKeySource {
  /** The last good key set and its version (incremented on every load); undefined before the first load. */
  document(): { version: number; jwks: JSONWebKeySet } | undefined;
  /** Starts a background refresh when the set is older than its maximum age (what getKey does per call). */
  freshen(): void;
}

/** Hands a token to a verification thread; undefined when it cannot take it now (verify in this thread). */
export interface VerifyOffload {
  verify(token: string, nowMs: number): Promise<VerifyOutcome> | undefined;
}

export interface VerifyPool extends VerifyOffload {
  readonly threads: number;
  close(): Promise<void>;
}

export interface VerifyPoolOptions {
  threads: number;
  options: PoolVerifyOptions;
  keys: PoolKeySource;
  logger: Logger;
  /** Tokens handed to the threads and not yet answered; beyond this, tokens are verified in this thread. */
  maxInFlight?: number;
}

interface Waiting {
  resolve(outcome: VerifyOutcome): void;
}

interface Thread {
  worker: Worker;
  alive: boolean;
  jwksVersion: number;
  /** Batches sent and not yet answered: their waiters, in token order. */
  batches: Map<number, Waiting[]>;
}

const NOT_READY: VerifyOutcome = { error: { code: 'ERR_POOL_UNAVAILABLE' } };

/**
 * Verification threads for tokens not yet in the verified-token cache: the signature check (an ES256 verify costs
 * about as much as proxying a whole request) leaves the event loop that proxies, so tokens seen for the first time
 * use the machine's other cores and never stall the requests of clients whose tokens are cached. Tokens arriving in
 * one turn of the event loop travel as one message per thread. Every thread applies the same jose options as the
 * in-thread verifier; an unknown `kid` (key rotation), a dead thread or a full pool falls back to this thread,
 * whose resolver refetches the JWKS with its cooldown.
 */
export function createVerifyPool(options: VerifyPoolOptions): VerifyPool {
  const maxInFlight = options.maxInFlight ?? 4096;
  const threads: Thread[] = [];
  let next = 0;
  let batchSeq = 0;
  let inFlight = 0;
  let queued: { token: string; nowMs: number; waiter: Waiting }[] = [];
  let flushScheduled = false;
  let closed = false;

  function fail(thread: Thread, why: string): void {
    if (!thread.alive) return;
    thread.alive = false;
    options.logger.warn(
      { why },
      'a token verification thread stopped; its tokens are verified in the main thread',
    );
    for (const waiters of thread.batches.values()) {
      inFlight -= waiters.length;
      for (const w of waiters) w.resolve(NOT_READY);
    }
    thread.batches.clear();
  }

  for (let i = 0; i < options.threads; i++) {
    const worker = new Worker(new URL('./verify-worker.ts', import.meta.url));
    worker.unref();
    const thread: Thread = { worker, alive: true, jwksVersion: -1, batches: new Map() };
    worker.on('message', (response: PoolResponse) => {
      const waiters = thread.batches.get(response.batch);
      if (!waiters) return;
      thread.batches.delete(response.batch);
      inFlight -= waiters.length;
      for (let j = 0; j < waiters.length; j++)
        (waiters[j] as Waiting).resolve(response.outcomes[j] ?? NOT_READY);
    });
    worker.on('error', (err) => fail(thread, err.message));
    worker.on('exit', (code) => fail(thread, `exited with code ${code}`));
    worker.postMessage({ kind: 'configure', options: options.options } satisfies PoolRequest);
    threads.push(thread);
  }

  function pick(): Thread | undefined {
    for (let i = 0; i < threads.length; i++) {
      const thread = threads[(next + i) % threads.length] as Thread;
      if (thread.alive) {
        next = (next + i + 1) % threads.length;
        return thread;
      }
    }
    return undefined;
  }

  function send(thread: Thread, items: typeof queued): void {
    const doc = options.keys.document();
    if (doc && doc.version !== thread.jwksVersion) {
      thread.worker.postMessage({ kind: 'jwks', jwks: doc.jwks } satisfies PoolRequest);
      thread.jwksVersion = doc.version;
    }
    const batch = ++batchSeq;
    thread.batches.set(
      batch,
      items.map((item) => item.waiter),
    );
    thread.worker.postMessage({
      kind: 'verify',
      batch,
      tokens: items.map((item) => item.token),
      nowMs: items.map((item) => item.nowMs),
    } satisfies PoolRequest);
  }

  function flush(): void {
    flushScheduled = false;
    const items = queued;
    queued = [];
    if (items.length === 0) return;
    const alive = threads.filter((t) => t.alive).length;
    // Split a large turn's tokens over the threads; a small one goes whole to the next thread.
    const parts = items.length >= 2 * alive ? alive : 1;
    const size = Math.ceil(items.length / Math.max(parts, 1));
    for (let start = 0; start < items.length; start += size) {
      const chunk = items.slice(start, start + size);
      const thread = pick();
      if (!thread) {
        inFlight -= chunk.length;
        for (const item of chunk) item.waiter.resolve(NOT_READY);
        continue;
      }
      send(thread, chunk);
    }
  }

  return {
    threads: options.threads,
    verify(token, nowMs) {
      if (closed || inFlight >= maxInFlight || options.keys.document() === undefined) return undefined;
      if (!threads.some((t) => t.alive)) return undefined;
      options.keys.freshen();
      inFlight++;
      return new Promise<VerifyOutcome>((resolve) => {
        queued.push({ token, nowMs, waiter: { resolve } });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      closed = true;
      flush();
      await Promise.all(
        threads.map(async (thread) => {
          thread.alive = false;
          for (const waiters of thread.batches.values()) for (const w of waiters) w.resolve(NOT_READY);
          thread.batches.clear();
          await thread.worker.terminate();
        }),
      );
    },
  };
}
