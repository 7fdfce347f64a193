// Rate limits (issue 16): what one take costs on each counter store, one at a time and 32 in flight, and what
// the check adds to a decision of the core (a cached token, no limit vs a client and an organisation limit on
// the in-process store). Measures, never asserts.
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
import { createStorageRateLimitStore, openStorage } from '../src/storage/index.ts';
import { serverTls } from '../test/gateway/decision/server-tls.ts';
import { JwksServer, signingKey, TokenMinter } from '../test/gateway/fixture.ts';
import { engineTargets } from '../test/support/engines.ts';
import { probeRedis, REDIS_URL } from '../test/support/redis.ts';

const HELP = `Usage: npm run bench -- rate-limit [options]

Takes on each rate-limit counter store (memory, SQLite, PostgreSQL when reachable, Redis at
ACCREDIT_TEST_REDIS_URL or 127.0.0.1:6379 when reachable): first one at a time, then --in-flight at once,
each on its own key of a limit never reached. Then decisions of the core with and without limits.

Options:
  --takes <n>       takes per measurement (default 2000)
  --in-flight <n>   concurrent takes in the second measurement (default 32)
  --decisions <n>   decisions per core measurement (default 20000)
  --json            print the results as JSON on stdout
  -h, --help        show this help
`;

interface StoreResult {
  backend: string;
  sequentialUsPerTake: number;
  sequentialCpuUsPerTake: number;
  concurrentTakesPerSecond: number;
  concurrentCpuUsPerTake: number;
}

async function measureStore(backend: string, store: RateLimitStore, takes: number, inFlight: number) {
  const key = () => `bench:${randomUUID()}`;
  for (let i = 0; i < 100; i++) await store.take(key(), 1_000_000, 60_000);
  let cpu = process.cpuUsage();
  let t = performance.now();
  for (let i = 0; i < takes; i++) await store.take(key(), 1_000_000, 60_000);
  const seqMs = performance.now() - t;
  const seqCpu = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < takes) await store.take(key(), 1_000_000, 60_000);
    }),
  );
  const parMs = performance.now() - t;
  const parCpu = process.cpuUsage(cpu);
  const per = (c: NodeJS.CpuUsage) => Math.round((c.user + c.system) / takes);
  return {
    backend,
    sequentialUsPerTake: Math.round((seqMs * 1000) / takes),
    sequentialCpuUsPerTake: per(seqCpu),
    concurrentTakesPerSecond: Math.round((takes / parMs) * 1000),
    concurrentCpuUsPerTake: per(parCpu),
  } satisfies StoreResult;
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
  const takes = option('--takes', 2000);
  const inFlight = option('--in-flight', 32);
  const decisions = option('--decisions', 20_000);
  const results: StoreResult[] = [];
  const report = (r: StoreResult) => {
    results.push(r);
    process.stderr.write(
      `${r.backend.padEnd(10)} one at a time ${String(r.sequentialUsPerTake).padStart(5)} µs/take ` +
        `(cpu ${r.sequentialCpuUsPerTake} µs) | ${inFlight} in flight ${String(r.concurrentTakesPerSecond).padStart(6)} ` +
        `takes/s (cpu ${r.concurrentCpuUsPerTake} µs/take)\n`,
    );
  };
  report(await measureStore('memory', createMemoryRateLimitStore(), takes, inFlight));
  for (const target of await engineTargets()) {
    if (target.skip) continue;
    const storage = await openStorage(target.freshOptions());
    try {
      report(await measureStore(target.name, createStorageRateLimitStore(storage.db), takes, inFlight));
    } finally {
      await storage.close();
      await target.cleanup();
    }
  }
  if (!(await probeRedis())) {
    const redis = createRedisRateLimitStore(REDIS_URL, { prefix: `accredit-bench:${process.pid}:` });
    try {
      report(await measureStore('redis', redis, takes, inFlight));
    } finally {
      await redis.close();
    }
  }
  const core = await coreCost(decisions);
  process.stderr.write(
    `decision core, cached token: ${core.withoutUs} µs without limits, ${core.withUs} µs with a client and an organisation limit (memory store)\n`,
  );
  if (argv.includes('--json'))
    process.stdout.write(`${JSON.stringify({ takes, inFlight, decisions, results, core }, null, 2)}\n`);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
