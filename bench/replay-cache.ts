// The shared replay caches (DPoP proof jti, RFC 9449 §11.1): what one claim costs on each backend, one at a time
// (latency) and 32 in flight (throughput), with this process's CPU per claim, in paired rounds
// (paired-rounds.ts). Measures, never asserts.
import { randomUUID } from 'node:crypto';
import {
  createMemoryReplayCache,
  createRedisReplayCache,
  type ReplayCache,
} from '../src/shared/replay-cache/index.ts';
import { createStorageReplayCache } from '../src/storage/index.ts';
import { progressOf, runBenchCommand } from './options.ts';
import {
  type Figures,
  formatFigures,
  pairedRounds,
  parseStoreBenchArgs,
  type StoreBenchOptions,
  storeBenchUsage,
  withBackends,
} from './paired-rounds.ts';

const HELP = `Usage: npm run bench -- replay-cache [options]

Claims of fresh keys on each replay cache backend (memory, SQLite, PostgreSQL when reachable, Redis at
ACCREDIT_TEST_REDIS_URL or 127.0.0.1:6379 when reachable): one at a time, then --in-flight at once; every
backend once per round, in alternating order; the median of the rounds is reported.

Options:
${storeBenchUsage('claim')}
  --json            print the results as JSON on stdout
  -h, --help        show this help
`;

interface Result {
  options: StoreBenchOptions;
  results: Figures[];
  rounds: Figures[][];
}

const progress = progressOf('replay-cache');

async function run(options: StoreBenchOptions): Promise<Result> {
  return withBackends<ReplayCache, Result>(
    {
      memory: () => createMemoryReplayCache(),
      storage: (db) => createStorageReplayCache(db),
      redis: (url, prefix) => createRedisReplayCache(url, { prefix }),
    },
    async (backends) => {
      const run = randomUUID();
      const subjects = backends.map(({ backend, store }) => ({
        name: backend,
        op: (i: number) => store.claim(`${run}:${backend}:${i}:${randomUUID()}`, Date.now() + 300_000),
      }));
      const { medians, rounds } = await pairedRounds(subjects, { ...options, unit: 'claim' }, progress);
      return { options, results: medians, rounds };
    },
  );
}

export async function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'replay-cache',
    help: HELP,
    parse(args) {
      const parsed = parseStoreBenchArgs(args, 'claim');
      return parsed.help ? 'help' : parsed.options;
    },
    run,
    format: (result) =>
      `${result.results.map((f) => formatFigures(f, result.options.inFlight, 'claim')).join('\n')}\n` +
      `(median of ${result.options.rounds} paired rounds)\n`,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
