// `bench gateway`: requests/s, latency and server CPU per request of the enforcing gateway against a bare
// undici reverse proxy with the same TLS setup, in front of the same upstream, measured in the same run.
// Informational only: it never fails on a figure, only when the run itself breaks (see PERFORMANCE.md).
import { cpus } from 'node:os';
import { decodeJwt } from 'jose';
import { ChildRpc } from './child-rpc.ts';
import { createFixture, type Fixture, ROUTE } from './gateway-fixture.ts';
import { type ChildMessage, type ParentMessage, type Target, UPSTREAM_BODY } from './gateway-protocol.ts';
import { median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- gateway [options]
       node bench/gateway.ts [options]

Measures requests/s, p50/p99 latency and server CPU time per request of two targets in front of the same
upstream (a node:http server answering a small JSON document):
  baseline  a bare reverse proxy: HTTPS with requestCert, the gateway's certificate and CA, an undici
            Pool to the upstream, no checks
  gateway   createGateway(): mTLS, a certificate-bound ES256 access token on GET ${ROUTE.path}
            (scope ${ROUTE.scope}), liveness from a temporary SQLite database, JWKS over HTTPS
  gateway-cold  the same gateway, sent a new token on every request (minted before the run, outside the
            measured window): every request pays the signature verification
Each measurement runs the server side (target + upstream + JWKS) in a fresh child process, whose
process.cpuUsage() over the measured window is divided by the requests completed in it; this process
is the load generator (undici, keep-alive, one request in flight per connection). The targets alternate
(baseline, gateway, gateway-cold, then the reverse, ...) and the median of the rounds is reported per target;
the verdicts use the median of each round's back-to-back gateway/baseline ratios: cached tokens ≥ 80 %,
cold tokens ≥ 60 % of the bare proxy's throughput. The load generator makes its headers the same way for
every target (a function per request), so only the server side differs.

Options:
  --connections <n>       concurrent keep-alive connections (default 16)
  --duration <s>          measured seconds per target and round (default 5)
  --warmup <s>            unmeasured seconds before each measurement (default 1)
  --rounds <n>            rounds of every target (default 2)
  --mode <m>              cached, cold or both (default both): which gateway targets to measure
  --cold-tokens <n>       tokens minted for the cold mode, used in turn (default 40000); a measurement that
                          needs more reuses them and says so (reused tokens > 0)
  --token-cache-size <n>  gateway's verified-token cache; 0 verifies the signature on every request
                          (default: the gateway's own default)
  --verify-threads <n>    gateway's token verification threads; 0 verifies in the event loop's thread
                          (default: the gateway's own default, 0)
  --log-level <level>     gateway logger level; decision lines go to /dev/null (default info)
  --json                  print the result as JSON on stdout
  -h, --help              show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke (a server failed,
or more than 1% of the requests did not answer 200), 2 on bad options.
`;

const THROUGHPUT_TARGET = 0.8;
const COLD_THROUGHPUT_TARGET = 0.6;
const MODES = ['cached', 'cold', 'both'] as const;
type Mode = (typeof MODES)[number];

/** What a measurement runs: the child's target, and for the gateway whether every request has a new token. */
export type Variant = 'baseline' | 'gateway' | 'gateway-cold';
const VARIANTS: readonly Variant[] = ['baseline', 'gateway', 'gateway-cold'];
const MAX_ERROR_RATE = 0.01;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface GatewayBenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  mode: Mode;
  coldTokens: number;
  tokenCacheSize: number | undefined;
  verifyThreads: number | undefined;
  logLevel: string;
  json: boolean;
}

export interface Measurement {
  round: number;
  target: Variant;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
  requests: number;
  errors: number;
  /** Requests the server counted in its CPU window (a cross-check of `requests`). */
  serverCounted: number;
  /** TLS connections opened during the window; 0 means every measured request rode a kept-alive connection. */
  newConnections: number;
  windowMs: number;
  /** Cold mode: requests that had to reuse a token already sent in this measurement (0: every token new). */
  reusedTokens: number;
}

export interface TargetSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
}

export interface GatewayBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<GatewayBenchOptions, 'json'>;
  measurements: Measurement[];
  median: Partial<Record<Variant, TargetSummary>>;
  /** One entry per measured gateway variant, against the baseline. */
  comparisons: Comparison[];
}

export interface Comparison {
  variant: Exclude<Variant, 'baseline'>;
  ratio: { throughput: number; serverCpu: number };
  /** Gateway/baseline throughput of each round's back-to-back pair: same machine conditions, less drift. */
  pairedThroughput: { median: number; min: number; max: number; p25: number; p75: number };
  /** Server CPU the gateway's checks add per request (median gateway − median baseline). */
  checksCpuUsPerRequest: number;
  target: { minThroughputRatio: number; status: 'PASS' | 'BELOW' };
}

const progress = progressOf('gateway');

export function parseOptions(argv: string[]): GatewayBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    mode: { type: 'string' },
    'cold-tokens': { type: 'string' },
    'token-cache-size': { type: 'string' },
    'verify-threads': { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (v.help) return 'help';
  const logLevel = v['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);
  const mode = (v.mode ?? 'both') as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode: one of ${MODES.join(', ')}`);
  return {
    connections: number('connections', v.connections, 16, 1, true),
    durationS: number('duration', v.duration, 5, 0.1, false),
    warmupS: number('warmup', v.warmup, 1, 0, false),
    rounds: number('rounds', v.rounds, 2, 1, true),
    mode,
    coldTokens: number('cold-tokens', v['cold-tokens'], 40_000, 1, true),
    tokenCacheSize:
      v['token-cache-size'] === undefined
        ? undefined
        : number('token-cache-size', v['token-cache-size'], 0, 0, true),
    verifyThreads:
      v['verify-threads'] === undefined
        ? undefined
        : number('verify-threads', v['verify-threads'], 0, 0, true),
    logLevel,
    json: v.json,
  };
}

async function measure(
  fixture: Fixture,
  coldTokens: readonly string[],
  options: GatewayBenchOptions,
  variant: Variant,
  round: number,
): Promise<Measurement> {
  const target: Target = variant === 'baseline' ? 'baseline' : 'gateway';
  const label = `round ${round}/${options.rounds} ${variant.padEnd(12)}`;
  progress(`${label} starting the server process`);
  const server = new ChildRpc<ParentMessage, ChildMessage>(new URL('./gateway-server.ts', import.meta.url), {
    label: 'server process',
  });
  try {
    const { url } = await server.call(
      {
        type: 'start',
        target,
        material: fixture.server,
        upstreamConnections: 64,
        tokenCacheSize: options.tokenCacheSize,
        verifyThreads: options.verifyThreads,
        logLevel: options.logLevel,
      },
      'ready',
    );
    progress(`${label} warm-up ${options.warmupS} s, then ${options.durationS} s measured (${url})`);
    let cpu: Extract<ChildMessage, { type: 'cpu' }> | undefined;
    // Every target gets its headers from a function per request, so the load generator does the same work.
    const fixed = { authorization: `Bearer ${fixture.token}` };
    let sent = 0;
    const perRequestHeaders =
      variant === 'gateway-cold'
        ? () => Promise.resolve({ authorization: `Bearer ${coldTokens[sent++ % coldTokens.length]}` })
        : () => Promise.resolve(fixed);
    const load = await runLoad({
      origin: url,
      path: ROUTE.path,
      headers: {},
      perRequestHeaders,
      connections: options.connections,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
      tls: fixture.client,
      async onWindowStart() {
        await server.call({ type: 'measure-start' }, 'measuring');
      },
      async onWindowEnd() {
        cpu = await server.call({ type: 'measure-stop' }, 'cpu');
      },
      checkProbe(_status, body) {
        if (body !== UPSTREAM_BODY)
          throw new Error(`${target} did not return the upstream's body: ${body.slice(0, 200)}`);
      },
    });
    if (!cpu) throw new Error('no CPU figure from the server process');
    if (load.errorRate > MAX_ERROR_RATE) {
      throw new Error(
        `${target}: ${load.errors} of ${load.completed} requests failed (${(load.errorRate * 100).toFixed(2)}% > ${MAX_ERROR_RATE * 100}%); first: ${load.firstError}`,
      );
    }
    const m: Measurement = {
      round,
      target: variant,
      rps: load.rps,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      serverCpuUsPerRequest: (cpu.userUs + cpu.systemUs) / load.completed,
      clientCpuUsPerRequest: load.clientCpuUsPerRequest,
      requests: load.completed,
      errors: load.errors,
      serverCounted: cpu.served,
      newConnections: load.newConnections,
      windowMs: load.windowMs,
      reusedTokens: variant === 'gateway-cold' ? Math.max(0, sent - coldTokens.length) : 0,
    };
    progress(
      `${label} ${fmt(m.rps, 0)} req/s  p50 ${fmt(m.p50Ms, 2)} ms  p99 ${fmt(m.p99Ms, 2)} ms  ` +
        `server ${fmt(m.serverCpuUsPerRequest, 1)} µs/req  (${m.requests} requests, ${m.errors} errors)`,
    );
    return m;
  } finally {
    await server.stop();
  }
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function summarise(measurements: Measurement[], target: Variant): TargetSummary {
  const of = (pick: (m: Measurement) => number) =>
    median(measurements.filter((m) => m.target === target).map(pick));
  return {
    rps: of((m) => m.rps),
    p50Ms: of((m) => m.p50Ms),
    p99Ms: of((m) => m.p99Ms),
    serverCpuUsPerRequest: of((m) => m.serverCpuUsPerRequest),
    clientCpuUsPerRequest: of((m) => m.clientCpuUsPerRequest),
  };
}

/** Nearest-rank quantile of unsorted values. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Access tokens for the cold mode, each new (own jti), bound to the fixture's client certificate. */
async function mintColdTokens(fixture: Fixture, count: number): Promise<string[]> {
  const { cnf } = decodeJwt(fixture.token);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(await fixture.signToken({ cnf }));
  return tokens;
}

export async function runGatewayBench(options: GatewayBenchOptions): Promise<GatewayBenchResult> {
  progress('creating the CA, certificates, token and SQLite database');
  const fixture = await createFixture();
  try {
    const variants = VARIANTS.filter(
      (v) =>
        v === 'baseline' ||
        options.mode === 'both' ||
        (options.mode === 'cached' ? v === 'gateway' : v === 'gateway-cold'),
    );
    let coldTokens: string[] = [];
    if (variants.includes('gateway-cold')) {
      progress(`minting ${options.coldTokens} access tokens for the cold mode (outside any measured window)`);
      coldTokens = await mintColdTokens(fixture, options.coldTokens);
    }
    const measurements: Measurement[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // ABBA order: a slow drift in background load weighs on every target alike.
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      for (const variant of order)
        measurements.push(await measure(fixture, coldTokens, options, variant, round));
    }
    const baseline = summarise(measurements, 'baseline');
    const median_: Partial<Record<Variant, TargetSummary>> = { baseline };
    const comparisons: Comparison[] = [];
    for (const variant of variants) {
      if (variant === 'baseline') continue;
      const gateway = summarise(measurements, variant);
      median_[variant] = gateway;
      const pairs: number[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        const inRound = (t: Variant) => measurements.find((m) => m.round === round && m.target === t);
        const b = inRound('baseline');
        const g = inRound(variant);
        if (b && g) pairs.push(g.rps / b.rps);
      }
      // The verdict uses the paired ratios: on a shared VM, throughput drifts by 2x within minutes, and a pair
      // measured back to back sees the same conditions.
      const pairedThroughput = {
        median: median(pairs),
        min: Math.min(...pairs),
        max: Math.max(...pairs),
        p25: quantile(pairs, 0.25),
        p75: quantile(pairs, 0.75),
      };
      const minThroughputRatio = variant === 'gateway' ? THROUGHPUT_TARGET : COLD_THROUGHPUT_TARGET;
      comparisons.push({
        variant,
        ratio: {
          throughput: gateway.rps / baseline.rps,
          serverCpu: gateway.serverCpuUsPerRequest / baseline.serverCpuUsPerRequest,
        },
        pairedThroughput,
        checksCpuUsPerRequest: gateway.serverCpuUsPerRequest - baseline.serverCpuUsPerRequest,
        target: {
          minThroughputRatio,
          status: pairedThroughput.median >= minThroughputRatio ? 'PASS' : 'BELOW',
        },
      });
    }
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      measurements,
      median: median_,
      comparisons,
    };
  } finally {
    fixture.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

export function formatResult(result: GatewayBenchResult): string {
  const o = result.options;
  const row = (name: string, s: TargetSummary) => [
    name,
    fmt(s.rps, 0),
    fmt(s.p50Ms, 2),
    fmt(s.p99Ms, 2),
    fmt(s.serverCpuUsPerRequest, 1),
  ];
  const pct = (x: number) => fmt(x * 100, 1);
  const lines = [
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel})`,
    `${o.connections} connections, ${o.warmupS} s warm-up + ${o.durationS} s measured, ${o.rounds} rounds; median of rounds; ` +
      `token cache ${o.tokenCacheSize ?? 'default'}, verify threads ${o.verifyThreads ?? 'default'}, log level ${o.logLevel}, mode ${o.mode}`,
    '',
    table([
      ['target', 'rps', 'p50 ms', 'p99 ms', 'server CPU µs/req'],
      ...VARIANTS.flatMap((v) => {
        const s = result.median[v];
        return s ? [row(v, s)] : [];
      }),
    ]),
    '',
    ...result.comparisons.flatMap((c) => [
      `${c.variant}/baseline: throughput ${pct(c.ratio.throughput)}%, server CPU ×${fmt(c.ratio.serverCpu, 2)} ` +
        `(checks add ${fmt(c.checksCpuUsPerRequest, 1)} µs/req)`,
      `  paired rounds (back to back): median ${pct(c.pairedThroughput.median)}%, ` +
        `interquartile ${pct(c.pairedThroughput.p25)}–${pct(c.pairedThroughput.p75)}%, ` +
        `range ${pct(c.pairedThroughput.min)}–${pct(c.pairedThroughput.max)}%`,
      `  target: ≥ ${c.target.minThroughputRatio * 100}% of baseline throughput (paired median): ${c.target.status}`,
    ]),
    '',
    'per round:',
    table([
      [
        'round',
        'target',
        'rps',
        'p50 ms',
        'p99 ms',
        'server µs/req',
        'loadgen µs/req',
        'errors',
        'new conns',
        'reused tokens',
      ],
      ...result.measurements.map((m) => [
        String(m.round),
        m.target,
        fmt(m.rps, 0),
        fmt(m.p50Ms, 2),
        fmt(m.p99Ms, 2),
        fmt(m.serverCpuUsPerRequest, 1),
        fmt(m.clientCpuUsPerRequest, 1),
        String(m.errors),
        String(m.newConnections),
        String(m.reusedTokens),
      ]),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/gateway.ts` and `bench/run.ts gateway`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'gateway',
    help: HELP,
    parse: parseOptions,
    run: runGatewayBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
