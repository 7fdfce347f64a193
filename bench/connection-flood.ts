// `bench connection-flood`: a partner's request latency on kept-alive mTLS connections to the gateway
// (default listener limits, in a child process), alone and while another loopback address floods the
// listener with idle TLS connections and reconnects each one it loses. Informational: never fails on a figure.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_LISTENER_LIMITS } from '../src/shared/listener-limits.ts';
import { ChildRpc } from './child-rpc.ts';
import type { FloodChildMessage, FloodParentMessage, FloodStats } from './connection-flood-protocol.ts';
import { createFixture, type Fixture, ROUTE } from './gateway-fixture.ts';
import type { ChildMessage, ParentMessage } from './gateway-protocol.ts';
import { type LoadResult, median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- connection-flood [options]
       node bench/connection-flood.ts [options]

Measures what a flood of idle connections from one address does to another partner's latency:
  server   createGateway() with the default listener limits (handshake and first-request timeouts ${DEFAULT_LISTENER_LIMITS.handshakeTimeoutMs / 1000} s,
           ${DEFAULT_LISTENER_LIMITS.maxConnections} connections, ${DEFAULT_LISTENER_LIMITS.maxConnectionsPerAddress} per source address), its upstream and JWKS, in a child process
  partner  this process, from 127.0.0.1: GET ${ROUTE.path} with a certificate-bound token over kept-alive
           mTLS connections (undici, one request in flight per connection)
  flood    another child process, from 127.0.0.2: holds up to --flood idle TLS connections (handshake
           done, no request, no client certificate) and reconnects every one that is refused or cut; at
           the lowest CPU priority (nice 19), since its client-side work would be on the attacker's machine
Each round measures the partner twice, without and with the flood, in alternating order (ABBA), each on
fresh connections after a warm-up. Reported: p50/p99 of both, per round and as the median of the rounds,
and the ratio of the p99s against the target (under flood ≤ 2 × normal).

Options:
  --rounds <n>             paired rounds (default 16, at most 1000)
  --duration <s>           measured seconds per phase (default 2, at most 60)
  --warmup <s>             unmeasured seconds before each measurement (default 0.5, at most 10)
  --connections <n>        partner keep-alive connections (default 4, at most 64)
  --flood <n>              idle connections the flood tries to hold (default 1000, at most 5000)
  --flood-settle <s>       seconds the flood runs before the partner's warm-up (default 1, at most 30)
  --reconnect-delay <ms>   pause before a lost flood connection reconnects (default 100, 1 to 10000)
  --json                   print the result as JSON on stdout
  -h, --help               show this help

All traffic stays on loopback (127.0.0.1, 127.0.0.2; Linux routes 127/8 to lo). Progress goes to stderr.
The exit code is 0 whatever the figures; 1 when the run broke (a process failed, the partner's probe was
refused), 2 on bad options.
`;

const P99_TARGET = 2;
const FLOOD_ADDRESS = '127.0.0.2';

export interface FloodBenchOptions {
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  flood: number;
  floodSettleS: number;
  reconnectDelayMs: number;
  json: boolean;
}

export interface Phase {
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  firstError: string | undefined;
}

export interface Round {
  round: number;
  normal: Phase;
  flood: Phase;
  /** flood p99 / normal p99 of this round. */
  p99Ratio: number;
  floodStats: FloodStats;
}

export interface FloodBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<FloodBenchOptions, 'json'>;
  limits: typeof DEFAULT_LISTENER_LIMITS;
  rounds: Round[];
  median: { normal: { p50Ms: number; p99Ms: number }; flood: { p50Ms: number; p99Ms: number } };
  /** Median flood p99 / median normal p99. */
  p99Ratio: number;
  /** Of the per-round ratios. */
  pairedP99Ratio: { median: number; min: number; max: number };
  errors: { normal: number; flood: number };
  /** Flood connections over all rounds. */
  floodTotals: Omit<FloodStats, 'open'>;
  target: { maxP99Ratio: number; status: 'PASS' | 'ABOVE' };
}

const progress = progressOf('connection-flood');

export function parseOptions(argv: string[]): FloodBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    flood: { type: 'string' },
    'flood-settle': { type: 'string' },
    'reconnect-delay': { type: 'string' },
  });
  if (v.help) return 'help';
  const atMost = (name: string, value: number, max: number) => {
    if (value > max) throw new UsageError(`--${name}: at most ${max}, got ${value}`);
    return value;
  };
  return {
    rounds: atMost('rounds', number('rounds', v.rounds, 16, 1, true), 1000),
    durationS: atMost('duration', number('duration', v.duration, 2, 0.1, false), 60),
    warmupS: atMost('warmup', number('warmup', v.warmup, 0.5, 0, false), 10),
    connections: atMost('connections', number('connections', v.connections, 4, 1, true), 64),
    flood: atMost('flood', number('flood', v.flood, 1000, 1, true), 5000),
    floodSettleS: atMost('flood-settle', number('flood-settle', v['flood-settle'], 1, 0, false), 30),
    reconnectDelayMs: atMost(
      'reconnect-delay',
      number('reconnect-delay', v['reconnect-delay'], 100, 1, true),
      10_000,
    ),
    json: v.json,
  };
}

function phaseOf(load: LoadResult): Phase {
  return {
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    requests: load.completed,
    errors: load.errors,
    firstError: load.firstError,
  };
}

async function measurePartner(url: string, fixture: Fixture, options: FloodBenchOptions): Promise<Phase> {
  const load = await runLoad({
    origin: url,
    path: ROUTE.path,
    headers: { authorization: `Bearer ${fixture.token}` },
    connections: options.connections,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    tls: fixture.client,
    async onWindowStart() {},
    async onWindowEnd() {},
  });
  return phaseOf(load);
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export async function runFloodBench(options: FloodBenchOptions): Promise<FloodBenchResult> {
  progress('creating the CA, certificates, token and SQLite database');
  const fixture = await createFixture();
  const server = new ChildRpc<ParentMessage, ChildMessage>(new URL('./gateway-server.ts', import.meta.url), {
    label: 'server process',
  });
  // The flood's own client-side work would be on the attacker's machine, not on the server's: it runs at the
  // lowest CPU priority, so that what is measured is what its connections cost the server.
  const attacker = new ChildRpc<FloodParentMessage, FloodChildMessage>(
    new URL('./connection-flood-attacker.ts', import.meta.url),
    { label: 'flood process', lowestPriority: true },
  );
  try {
    const { url } = await server.call(
      {
        type: 'start',
        target: 'gateway',
        material: fixture.server,
        upstreamConnections: 64,
        tokenCacheSize: undefined,
        logLevel: 'warn',
      },
      'ready',
    );
    const port = Number(new URL(url).port);
    progress(`gateway at ${url}; partner from 127.0.0.1, flood from ${FLOOD_ADDRESS}`);
    const rounds: Round[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const label = `round ${round}/${options.rounds}`;
      let normal: Phase | undefined;
      let flood: Phase | undefined;
      let floodStats: FloodStats | undefined;
      // ABBA: a slow drift in background load weighs on both phases alike.
      const order = round % 2 === 1 ? (['normal', 'flood'] as const) : (['flood', 'normal'] as const);
      for (const phase of order) {
        if (phase === 'normal') {
          normal = await measurePartner(url, fixture, options);
          continue;
        }
        await attacker.call(
          {
            type: 'start',
            port,
            localAddress: FLOOD_ADDRESS,
            connections: options.flood,
            reconnectDelayMs: options.reconnectDelayMs,
            ca: fixture.server.caPem,
          },
          'started',
        );
        await sleep(options.floodSettleS * 1000);
        try {
          flood = await measurePartner(url, fixture, options);
        } finally {
          const { type: _type, ...stats } = await attacker.call({ type: 'stop' }, 'stopped');
          floodStats = stats;
        }
        // Let the server see the flood's connections close before the next phase.
        await sleep(500);
      }
      if (!normal || !flood || !floodStats) throw new Error(`${label}: a phase did not run`);
      const r: Round = { round, normal, flood, p99Ratio: flood.p99Ms / normal.p99Ms, floodStats };
      rounds.push(r);
      progress(
        `${label} normal p50 ${fmt(normal.p50Ms, 2)} p99 ${fmt(normal.p99Ms, 2)} ms | flood p50 ${fmt(flood.p50Ms, 2)} ` +
          `p99 ${fmt(flood.p99Ms, 2)} ms | ×${fmt(r.p99Ratio, 2)} | flood: ${floodStats.attempts} attempts, ` +
          `${floodStats.established} let in, ${floodStats.refused} refused, ${floodStats.open} held at the end` +
          (normal.errors + flood.errors > 0 ? ` | errors ${normal.errors}/${flood.errors}` : ''),
      );
    }
    const med = (pick: (r: Round) => number) => median(rounds.map(pick));
    const ratios = rounds.map((r) => r.p99Ratio);
    const normalP99 = med((r) => r.normal.p99Ms);
    const floodP99 = med((r) => r.flood.p99Ms);
    const sum = (pick: (r: Round) => number) => rounds.reduce((n, r) => n + pick(r), 0);
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      limits: DEFAULT_LISTENER_LIMITS,
      rounds,
      median: {
        normal: { p50Ms: med((r) => r.normal.p50Ms), p99Ms: normalP99 },
        flood: { p50Ms: med((r) => r.flood.p50Ms), p99Ms: floodP99 },
      },
      p99Ratio: floodP99 / normalP99,
      pairedP99Ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      errors: { normal: sum((r) => r.normal.errors), flood: sum((r) => r.flood.errors) },
      floodTotals: {
        attempts: sum((r) => r.floodStats.attempts),
        established: sum((r) => r.floodStats.established),
        refused: sum((r) => r.floodStats.refused),
        cut: sum((r) => r.floodStats.cut),
      },
      target: { maxP99Ratio: P99_TARGET, status: floodP99 / normalP99 <= P99_TARGET ? 'PASS' : 'ABOVE' },
    };
  } finally {
    await attacker.stop();
    await server.stop();
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

export function formatResult(result: FloodBenchResult): string {
  const o = result.options;
  const l = result.limits;
  const lines = [
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel})`,
    `${o.rounds} paired rounds, ${o.warmupS} s warm-up + ${o.durationS} s measured per phase; partner ${o.connections} ` +
      `keep-alive mTLS connections; flood ${o.flood} idle TLS connections from ${FLOOD_ADDRESS}, reconnect after ` +
      `${o.reconnectDelayMs} ms, ${o.floodSettleS} s head start`,
    `listener limits (defaults): handshake ${l.handshakeTimeoutMs} ms, first request ${l.firstRequestTimeoutMs} ms, ` +
      `${l.maxConnections} connections, ${l.maxConnectionsPerAddress} per address`,
    '',
    table([
      ['partner', 'p50 ms', 'p99 ms', 'errors'],
      [
        'normal',
        fmt(result.median.normal.p50Ms, 2),
        fmt(result.median.normal.p99Ms, 2),
        String(result.errors.normal),
      ],
      [
        'under flood',
        fmt(result.median.flood.p50Ms, 2),
        fmt(result.median.flood.p99Ms, 2),
        String(result.errors.flood),
      ],
    ]),
    '',
    `p99 under flood / normal (medians of rounds): ×${fmt(result.p99Ratio, 2)}; per round: median ` +
      `×${fmt(result.pairedP99Ratio.median, 2)}, range ×${fmt(result.pairedP99Ratio.min, 2)}–×${fmt(result.pairedP99Ratio.max, 2)}`,
    `target: p99 under flood ≤ ${result.target.maxP99Ratio} × normal: ${result.target.status}`,
    `flood, all rounds: ${result.floodTotals.attempts} connection attempts, ${result.floodTotals.established} let in, ` +
      `${result.floodTotals.refused} refused, ${result.floodTotals.cut} cut by the server`,
    '',
    'per round:',
    table([
      [
        'round',
        'normal p50',
        'normal p99',
        'flood p50',
        'flood p99',
        'p99 ×',
        'flood in',
        'refused',
        'errors',
      ],
      ...result.rounds.map((r) => [
        String(r.round),
        fmt(r.normal.p50Ms, 2),
        fmt(r.normal.p99Ms, 2),
        fmt(r.flood.p50Ms, 2),
        fmt(r.flood.p99Ms, 2),
        fmt(r.p99Ratio, 2),
        String(r.floodStats.established),
        String(r.floodStats.refused),
        String(r.normal.errors + r.flood.errors),
      ]),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/connection-flood.ts` and `bench/run.ts connection-flood`. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'connection-flood',
    help: HELP,
    parse: parseOptions,
    run: runFloodBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
