// One runner for the benches of the shared stores (replay-cache, rate-limit): every backend a store has (memory,
// SQLite, PostgreSQL when reachable, Redis when reachable) opened side by side, then paired rounds — each round
// measures every subject once, one operation at a time (latency) and --in-flight at once (throughput), with this
// process's CPU per operation; the order alternates forward and reversed from one round to the next, so the
// machine's drift falls on every subject alike, and the median of the rounds is reported. Measures, never asserts.

import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { openStorage, type Storage } from '../src/storage/index.ts';
import type { Database } from '../src/storage/schema.ts';
import { engineTargets } from '../test/support/engines.ts';
import { probeRedis, REDIS_URL } from '../test/support/redis.ts';
import { number, parseBenchArgs } from './options.ts';

/** One thing measured: an operation on a fresh key each call (`i` is unique within a measurement). */
export interface Subject {
  name: string;
  op(i: number): Promise<unknown>;
}

export interface Figures {
  subject: string;
  sequentialUsPerOp: number;
  sequentialCpuUsPerOp: number;
  concurrentOpsPerSecond: number;
  concurrentCpuUsPerOp: number;
}

export interface StoreBenchOptions {
  json: boolean;
  ops: number;
  inFlight: number;
  rounds: number;
}

/**
 * The options every store bench takes — `--<unit>s`, `--in-flight`, `--rounds`, `--json`, `--help` — plus its
 * own numeric `extra` ones (returned as given, to be checked with `number`). Anything else is a usage error.
 */
export function parseStoreBenchArgs(
  argv: string[],
  unit: string,
  extra: readonly string[] = [],
): { options: StoreBenchOptions; help: boolean; values: Record<string, string | undefined> } {
  const spec: Record<string, { type: 'string' }> = {};
  for (const name of [`${unit}s`, 'in-flight', 'rounds', ...extra]) spec[name] = { type: 'string' };
  const v = parseBenchArgs(argv, spec) as Record<string, string | boolean | undefined>;
  const values: Record<string, string | undefined> = {};
  for (const name of Object.keys(spec))
    values[name] = typeof v[name] === 'string' ? (v[name] as string) : undefined;
  return {
    help: v.help === true,
    values,
    options: {
      json: v.json === true,
      ops: number(`${unit}s`, values[`${unit}s`], 2000, 1, true),
      inFlight: number('in-flight', values['in-flight'], 32, 1, true),
      rounds: number('rounds', values.rounds, 3, 1, true),
    },
  };
}

/** The usage lines of the shared options, for each bench's --help. */
export function storeBenchUsage(unit: string): string {
  return `  --${`${unit}s <n>`.padEnd(16)}${unit}s per measurement (default 2000)
  --in-flight <n>   concurrent ${unit}s in the throughput measurement (default 32)
  --rounds <n>      paired rounds, every backend measured once per round (default 3)`;
}

async function measureOnce(subject: Subject, ops: number, inFlight: number): Promise<Figures> {
  let i = 0;
  for (let w = 0; w < 100; w++) await subject.op(i++);
  let cpu = process.cpuUsage();
  let t = performance.now();
  for (let n = 0; n < ops; n++) await subject.op(i++);
  const seqMs = performance.now() - t;
  const seqCpu = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < ops) await subject.op(i++);
    }),
  );
  const parMs = performance.now() - t;
  const parCpu = process.cpuUsage(cpu);
  const perOp = (c: NodeJS.CpuUsage) => Math.round((c.user + c.system) / ops);
  return {
    subject: subject.name,
    sequentialUsPerOp: Math.round((seqMs * 1000) / ops),
    sequentialCpuUsPerOp: perOp(seqCpu),
    concurrentOpsPerSecond: Math.round((ops / parMs) * 1000),
    concurrentCpuUsPerOp: perOp(parCpu),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/** Every subject once per round, in alternating order; the per-subject medians and every round's figures. */
export async function pairedRounds(
  subjects: Subject[],
  options: Pick<StoreBenchOptions, 'ops' | 'inFlight' | 'rounds'> & { unit: string },
  progress: (line: string) => void,
): Promise<{ medians: Figures[]; rounds: Figures[][] }> {
  const rounds: Figures[][] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? subjects : [...subjects].reverse();
    const figures: Figures[] = [];
    for (const subject of order) {
      const f = await measureOnce(subject, options.ops, options.inFlight);
      progress(`round ${round}/${options.rounds} ${formatFigures(f, options.inFlight, options.unit)}`);
      figures.push(f);
    }
    rounds.push(figures);
  }
  const medians = subjects.map((s) => {
    const of = rounds.map((r) => r.find((f) => f.subject === s.name) as Figures);
    return {
      subject: s.name,
      sequentialUsPerOp: median(of.map((f) => f.sequentialUsPerOp)),
      sequentialCpuUsPerOp: median(of.map((f) => f.sequentialCpuUsPerOp)),
      concurrentOpsPerSecond: median(of.map((f) => f.concurrentOpsPerSecond)),
      concurrentCpuUsPerOp: median(of.map((f) => f.concurrentCpuUsPerOp)),
    };
  });
  return { medians, rounds };
}

export function formatFigures(f: Figures, inFlight: number, unit: string): string {
  return (
    `${f.subject.padEnd(18)} one at a time ${String(f.sequentialUsPerOp).padStart(5)} µs/${unit} ` +
    `(cpu ${f.sequentialCpuUsPerOp} µs) | ${inFlight} in flight ${String(f.concurrentOpsPerSecond).padStart(6)} ` +
    `${unit}s/s (cpu ${f.concurrentCpuUsPerOp} µs/${unit})`
  );
}

/** A store open on one backend. */
export interface OpenBackend<T> {
  backend: string;
  store: T;
}

/**
 * Opens the store on every backend reachable here (memory, each database engine, Redis), side by side, runs
 * `fn` over them and closes everything, whatever `fn` did.
 */
export async function withBackends<T extends { close(): Promise<void> }, R>(
  make: {
    memory(): T;
    storage(db: Kysely<Database>): T;
    redis(url: string, prefix: string): T;
  },
  fn: (backends: OpenBackend<T>[]) => Promise<R>,
): Promise<R> {
  const backends: OpenBackend<T>[] = [];
  const storages: Storage[] = [];
  const targets = await engineTargets();
  try {
    backends.push({ backend: 'memory', store: make.memory() });
    for (const target of targets) {
      if (target.skip) continue;
      const storage = await openStorage(target.freshOptions());
      storages.push(storage);
      backends.push({ backend: target.name, store: make.storage(storage.db) });
    }
    if (!(await probeRedis())) {
      backends.push({ backend: 'redis', store: make.redis(REDIS_URL, `accredit-bench:${process.pid}:`) });
    }
    return await fn(backends);
  } finally {
    for (const { store } of backends) await store.close().catch(() => {});
    for (const storage of storages) await storage.close().catch(() => {});
    for (const target of targets) await target.cleanup().catch(() => {});
  }
}
