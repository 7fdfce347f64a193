// The shared replay caches (DPoP proof jti, RFC 9449 §11.1): what one claim costs on each backend, one at a time
// (latency) and 32 in flight (throughput), with this process's CPU per claim. Measures, never asserts.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  createMemoryReplayCache,
  createRedisReplayCache,
  type ReplayCache,
} from '../src/shared/replay-cache/index.ts';
import { createStorageReplayCache, openStorage } from '../src/storage/index.ts';
import { engineTargets } from '../test/support/engines.ts';
import { probeRedis, REDIS_URL } from '../test/support/redis.ts';

const HELP = `Usage: npm run bench -- replay-cache [options]

Claims of fresh keys on each replay cache backend (memory, SQLite, PostgreSQL when reachable, Redis at
ACCREDIT_TEST_REDIS_URL or 127.0.0.1:6379 when reachable): first one at a time, then --in-flight at once.

Options:
  --claims <n>      claims per measurement (default 2000)
  --in-flight <n>   concurrent claims in the second measurement (default 32)
  --json            print the results as JSON on stdout
  -h, --help        show this help
`;

interface Result {
  backend: string;
  sequentialUsPerClaim: number;
  sequentialCpuUsPerClaim: number;
  concurrentClaimsPerSecond: number;
  concurrentCpuUsPerClaim: number;
}

async function measure(
  backend: string,
  cache: ReplayCache,
  claims: number,
  inFlight: number,
): Promise<Result> {
  const exp = () => Date.now() + 300_000;
  for (let i = 0; i < 100; i++) await cache.claim(`warm:${randomUUID()}`, exp());
  let cpu = process.cpuUsage();
  let t = performance.now();
  for (let i = 0; i < claims; i++) await cache.claim(`seq:${randomUUID()}`, exp());
  const seqMs = performance.now() - t;
  const seqCpu = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < claims) await cache.claim(`par:${randomUUID()}`, exp());
    }),
  );
  const parMs = performance.now() - t;
  const parCpu = process.cpuUsage(cpu);
  const perClaim = (c: NodeJS.CpuUsage) => Math.round((c.user + c.system) / claims);
  return {
    backend,
    sequentialUsPerClaim: Math.round((seqMs * 1000) / claims),
    sequentialCpuUsPerClaim: perClaim(seqCpu),
    concurrentClaimsPerSecond: Math.round((claims / parMs) * 1000),
    concurrentCpuUsPerClaim: perClaim(parCpu),
  };
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const option = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    const value = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const claims = option('--claims', 2000);
  const inFlight = option('--in-flight', 32);
  const results: Result[] = [];
  const report = (r: Result) => {
    results.push(r);
    process.stderr.write(
      `${r.backend.padEnd(10)} one at a time ${String(r.sequentialUsPerClaim).padStart(5)} µs/claim ` +
        `(cpu ${r.sequentialCpuUsPerClaim} µs) | ${inFlight} in flight ${String(r.concurrentClaimsPerSecond).padStart(6)} ` +
        `claims/s (cpu ${r.concurrentCpuUsPerClaim} µs/claim)\n`,
    );
  };
  report(await measure('memory', createMemoryReplayCache(), claims, inFlight));
  for (const target of await engineTargets()) {
    if (target.skip) continue;
    const storage = await openStorage(target.freshOptions());
    try {
      report(await measure(target.name, createStorageReplayCache(storage.db), claims, inFlight));
    } finally {
      await storage.close();
      await target.cleanup();
    }
  }
  if (!(await probeRedis())) {
    const redis = createRedisReplayCache(REDIS_URL, { prefix: `accredit-bench:${process.pid}:` });
    try {
      report(await measure('redis', redis, claims, inFlight));
    } finally {
      await redis.close();
    }
  }
  if (argv.includes('--json'))
    process.stdout.write(`${JSON.stringify({ claims, inFlight, results }, null, 2)}\n`);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
