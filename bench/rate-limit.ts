// Rate limits (issue 16): what one take costs on each counter store — one limit, and a request's two limits (a
// client's and its organisation's) in one all-or-nothing take — one at a time and 32 in flight, in paired rounds
// (paired-rounds.ts); and what the check adds to a decision of the core (a cached token, no limit vs a client and
// an organisation limit on the in-process store). Measures, never asserts.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import {
  createDecisionCore,
  createMemoryLivenessState,
  type DecisionCore,
  type RequestFacts,
} from '../src/gateway/index.ts';
import {
  createMemoryRateLimitStore,
  createRedisRateLimitStore,
  type RateLimitStore,
} from '../src/shared/rate-limit/index.ts';
import { createStorageRateLimitStore } from '../src/storage/index.ts';
import { serverTls } from '../test/gateway/decision/server-tls.ts';
import { JwksServer, signingKey, TokenMinter } from '../test/gateway/fixture.ts';
import { number, progressOf, runBenchCommand } from './options.ts';
import {
  type Figures,
  formatFigures,
  pairedRounds,
  parseStoreBenchArgs,
  type StoreBenchOptions,
  type Subject,
  storeBenchUsage,
  withBackends,
} from './paired-rounds.ts';

const HELP = `Usage: npm run bench -- rate-limit [options]

Takes on each rate-limit counter store (memory, SQLite, PostgreSQL when reachable, Redis at
ACCREDIT_TEST_REDIS_URL or 127.0.0.1:6379 when reachable), each on fresh keys of a limit never reached: one
limit, and two limits in one all-or-nothing take; one at a time, then --in-flight at once; every subject once
per round, in alternating order, the median of the rounds reported. Then decisions of the core with and
without limits.

Options:
${storeBenchUsage('take')}
  --decisions <n>   decisions per core measurement (default 20000)
  --json            print the results as JSON on stdout
  -h, --help        show this help
`;

interface Options extends StoreBenchOptions {
  decisions: number;
}

interface Result {
  options: Options;
  results: Figures[];
  rounds: Figures[][];
  core: { withoutUs: number; withUs: number };
}

const progress = progressOf('rate-limit');
const QUOTA = 1_000_000;
const WINDOW_MS = 60_000;

/** Per store: one limit per take, and a request's two limits (client, organisation) in one take. */
function subjectsOf(backend: string, store: RateLimitStore): Subject[] {
  const run = randomUUID();
  return [
    { name: `${backend} 1 limit`, op: (i) => store.take(`bench:${run}:${i}`, QUOTA, WINDOW_MS) },
    {
      name: `${backend} 2 limits`,
      op: (i) =>
        store.takeAll([
          { key: `bench:${run}:${i}:client`, quota: QUOTA, windowMs: WINDOW_MS },
          { key: `bench:${run}:${i}:org`, quota: QUOTA * 10, windowMs: WINDOW_MS * 1440 },
        ]),
    },
  ];
}

/** µs per decision of one core, a cached token, awaited one at a time. */
async function measureCore(core: DecisionCore, facts: RequestFacts, decisions: number): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const d = core.decide(facts);
    if (d instanceof Promise) await d;
  }
  const t = performance.now();
  for (let i = 0; i < decisions; i++) {
    const d = core.decide(facts);
    const decision = d instanceof Promise ? await d : d;
    if (!decision.allow) throw new Error(`refused: ${decision.reason}`);
  }
  return Math.round(((performance.now() - t) * 1000 * 100) / decisions) / 100;
}

async function coreCost(decisions: number): Promise<{ withoutUs: number; withUs: number }> {
  const tls = await serverTls();
  const key = await signingKey('k1');
  const jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  const minter = new TokenMinter('https://as.example', 'https://api.example', key);
  const token = await minter.sign(minter.claims('c1', 'org-1', undefined, 'r'));
  const make = async (limited: boolean) => {
    const state = createMemoryLivenessState();
    state.setOrg('org-1', 'active');
    state.setClient({
      clientId: 'c1',
      orgId: 'org-1',
      status: 'active',
      authMethod: 'private_key_jwt',
      selfSignedX5t: [],
      certificateApps: [],
    });
    if (limited) {
      // Never reached: every decision takes two counters and is admitted.
      state.setRateLimit('application', 'c1', [{ quota: 1_000_000_000, window: 1 }]);
      state.setRateLimit('organisation', 'org-1', [{ quota: 1_000_000_000, window: 86400 }]);
    }
    const core = await createDecisionCore({
      liveness: state,
      routes: [
        {
          method: 'GET',
          pathPattern: '/v1/a',
          scopes: [['r']],
          auth: 'token',
          mtls: 'optional',
          dpop: 'refused',
        },
      ],
      trustedCa: tls.cert,
      issuer: 'https://as.example',
      audience: 'https://api.example',
      jwksUri: jwks.url,
      jwksCa: tls.cert,
      logger: pino({ level: 'silent' }),
      rateLimit: { store: createMemoryRateLimitStore() },
    });
    return { core, state };
  };
  const facts: RequestFacts = {
    method: 'GET',
    target: '/v1/a',
    authorization: `Bearer ${token}`,
    dpop: undefined,
    certificate: undefined,
    requestId: 'bench',
  };
  const without = await make(false);
  const withLimits = await make(true);
  try {
    // Alternate to spread the machine's noise over both.
    let withoutUs = 0;
    let withUs = 0;
    for (let round = 0; round < 4; round++) {
      withoutUs += await measureCore(without.core, facts, decisions / 4);
      withUs += await measureCore(withLimits.core, facts, decisions / 4);
    }
    return { withoutUs: Math.round(withoutUs * 25) / 100, withUs: Math.round(withUs * 25) / 100 };
  } finally {
    for (const { core, state } of [without, withLimits]) {
      await core.close();
      state.close();
    }
    await jwks.close();
  }
}

async function run(options: Options): Promise<Result> {
  const { medians, rounds } = await withBackends<RateLimitStore, { medians: Figures[]; rounds: Figures[][] }>(
    {
      memory: () => createMemoryRateLimitStore(),
      storage: (db) => createStorageRateLimitStore(db),
      redis: (url, prefix) => createRedisRateLimitStore(url, { prefix }),
    },
    (backends) =>
      pairedRounds(
        backends.flatMap(({ backend, store }) => subjectsOf(backend, store)),
        { ...options, unit: 'take' },
        progress,
      ),
  );
  const core = await coreCost(options.decisions);
  return { options, results: medians, rounds, core };
}

export async function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'rate-limit',
    help: HELP,
    parse(args) {
      const parsed = parseStoreBenchArgs(args, 'take', ['decisions']);
      if (parsed.help) return 'help';
      // Four alternating halves of each core: a multiple of 4.
      const decisions = number('decisions', parsed.values.decisions, 20_000, 4, true);
      return { ...parsed.options, decisions: decisions - (decisions % 4) };
    },
    run,
    format: (result) =>
      `${result.results.map((f) => formatFigures(f, result.options.inFlight, 'take')).join('\n')}\n` +
      `(median of ${result.options.rounds} paired rounds)\n` +
      `decision core, cached token: ${result.core.withoutUs} µs without limits, ${result.core.withUs} µs with a ` +
      'client and an organisation limit (memory store)\n',
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
