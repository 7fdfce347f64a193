// `bench token`: tokens/s and server CPU per token of the platform's token endpoint (client credentials,
// tls_client_auth, a certificate-bound RFC 9068 JWT) against a bare node:https sign-and-respond baseline,
// measured in the same run in paired rounds, on kept-alive and on fresh TLS connections (issue 16).
// Informational only: it never fails on a figure, only when the run itself breaks.
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { ChildRpc } from './child-rpc.ts';
import { median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';
import {
  type ChildMessage,
  type ParentMessage,
  type ServerMaterial,
  type Target,
  TOKEN_PATH,
} from './token-protocol.ts';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

const HELP = `Usage: npm run bench -- token [options]
       node bench/token.ts [options]

Measures tokens/s, p50/p99 latency and server CPU time per token of two targets answering
POST ${TOKEN_PATH} grant_type=client_credentials from one partner over mTLS:
  baseline  a bare node:https server with the platform mTLS listener's TLS settings (its certificate,
            CA, requestCert, TLS >= 1.2) that reads the form, the peer certificate and its SHA-256
            thumbprint, and signs an RFC 9068 ES256 access token (jose, a KeyObject) with the same
            claims and cnf.x5t#S256, answering the same JSON shape; no lookup, no checks
  platform  the whole platform (initPlatform + startPlatform) in a child process: its mTLS listener,
            oidc-provider, tls_client_auth of an active client of an active organisation with a
            certificate the platform issued, a certificate-bound token (SQLite or PostgreSQL)
Modes: keep-alive (--connections connections, one request in flight each) and fresh (a new TLS
connection with a full handshake, no session resumption, for every token, --connections in parallel).
Both targets run in their own child process for the whole run; each measurement divides the child's
process.cpuUsage() over the measured window by the tokens issued in it. With PostgreSQL the CPU of the
platform's own database server processes over the window (its connections' backends, found by their
application_name in pg_stat_activity, read from /proc) is reported per token as well. Each
round measures both modes, each as a back-to-back pair (order alternating); the ratio reported is the
median (and range) of the rounds' platform/baseline throughput ratios.

Options:
  --connections <n>     concurrent connections / requests in flight (default 16)
  --duration <s>        measured seconds per target, mode and round (default 2)
  --warmup <s>          unmeasured seconds before each measurement (default 0.5)
  --rounds <n>          paired rounds (default 16)
  --mode <m>            keep-alive, fresh or both (default both)
  --database <engine>   sqlite (default) or postgres
  --postgres-url <url>  PostgreSQL for --database postgres (default ${DEFAULT_POSTGRES_URL};
                        a fresh schema is created and dropped)
  --cpu-prof <dir>      write a V8 CPU profile of each measured platform window into <dir>
  --json                print the result as JSON on stdout
  -h, --help            show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke (a server failed,
or more than 1% of the requests did not answer 200), 2 on bad options.
`;

const MODES = ['keep-alive', 'fresh'] as const;
type Mode = (typeof MODES)[number];
/** Issue 16's targets: platform/baseline throughput per mode. */
const TARGETS: Record<Mode, number> = { 'keep-alive': 0.6, fresh: 0.8 };
const MAX_ERROR_RATE = 0.01;

export interface TokenBenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  modes: Mode[];
  database: 'sqlite' | 'postgres';
  postgresUrl: string;
  cpuProfileDir: string | undefined;
  json: boolean;
}

export interface Measurement {
  round: number;
  mode: Mode;
  target: Target;
  tokensPerS: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerToken: number;
  /** PostgreSQL's CPU over the window per token (every postgres process); undefined on SQLite. */
  databaseCpuUsPerToken: number | undefined;
  clientCpuUsPerToken: number;
  tokens: number;
  errors: number;
  newConnections: number;
  windowMs: number;
}

export interface ModeSummary {
  baseline: { tokensPerS: number; p50Ms: number; p99Ms: number; serverCpuUsPerToken: number };
  platform: {
    tokensPerS: number;
    p50Ms: number;
    p99Ms: number;
    serverCpuUsPerToken: number;
    databaseCpuUsPerToken: number | undefined;
  };
  pairedThroughput: { median: number; min: number; max: number };
  target: { minThroughputRatio: number; status: 'PASS' | 'BELOW' };
}

export interface TokenBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<TokenBenchOptions, 'json' | 'postgresUrl'>;
  measurements: Measurement[];
  modes: Partial<Record<Mode, ModeSummary>>;
}

const progress = progressOf('token');

/** The profile directory, created when missing (the servers write into it). */
function makeDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function parseOptions(argv: string[]): TokenBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    mode: { type: 'string' },
    database: { type: 'string' },
    'postgres-url': { type: 'string' },
    'cpu-prof': { type: 'string' },
  });
  if (v.help) return 'help';
  const mode = v.mode ?? 'both';
  if (mode !== 'both' && !(MODES as readonly string[]).includes(mode)) {
    throw new UsageError('--mode: one of keep-alive, fresh, both');
  }
  const database = v.database ?? 'sqlite';
  if (database !== 'sqlite' && database !== 'postgres')
    throw new UsageError('--database: sqlite or postgres');
  return {
    connections: number('connections', v.connections, 16, 1, true),
    durationS: number('duration', v.duration, 2, 0.1, false),
    warmupS: number('warmup', v.warmup, 0.5, 0, false),
    rounds: number('rounds', v.rounds, 16, 1, true),
    modes: mode === 'both' ? [...MODES] : [mode as Mode],
    database,
    postgresUrl: v['postgres-url'] ?? process.env.ACCREDIT_TEST_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
    cpuProfileDir: v['cpu-prof'] === undefined ? undefined : makeDir(v['cpu-prof']),
    json: v.json,
  };
}

const CLK_TCK_US = 10_000; // USER_HZ = 100 on Linux.

/** CPU time so far of each of these processes, in µs (/proc/<pid>/stat utime + stime); gone ones are absent. */
function cpuOfPids(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * CLK_TCK_US);
    } catch {
      // Ended: its share of the window is not counted.
    }
  }
  return out;
}

/**
 * The platform's own PostgreSQL backends (its connections carry a distinct application_name): their server
 * processes' CPU over a window, not that of anyone else using the same database server.
 */
class PostgresBackends {
  readonly #client: pg.Client;
  readonly #name: string;
  #start = new Map<number, number>();

  constructor(url: string, applicationName: string) {
    this.#client = new pg.Client({ connectionString: url });
    this.#name = applicationName;
  }

  async connect(): Promise<void> {
    await this.#client.connect();
  }

  async windowStart(): Promise<void> {
    const { rows } = await this.#client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [this.#name],
    );
    this.#start = cpuOfPids(rows.map((r) => r.pid));
  }

  windowEndUs(): number {
    let total = 0;
    for (const [pid, us] of cpuOfPids([...this.#start.keys()])) total += us - (this.#start.get(pid) ?? us);
    return total;
  }

  close(): Promise<void> {
    return this.#client.end();
  }
}

type Server = ChildRpc<ParentMessage, ChildMessage>;

async function measure(
  server: Server,
  url: string,
  client: { cert: string; key: string; ca: string },
  clientId: string,
  backends: PostgresBackends | undefined,
  options: TokenBenchOptions,
  target: Target,
  mode: Mode,
  round: number,
): Promise<Measurement> {
  const label = `round ${round}/${options.rounds} ${mode.padEnd(10)} ${target.padEnd(8)}`;
  let cpu: Extract<ChildMessage, { type: 'cpu' }> | undefined;
  let dbUs: number | undefined;
  const postgres = target === 'platform' ? backends : undefined;
  const load = await runLoad({
    origin: url,
    path: TOKEN_PATH,
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    connections: options.connections,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    freshConnections: mode === 'fresh',
    tls: client,
    async onWindowStart() {
      await server.call({ type: 'measure-start' }, 'measuring');
      await postgres?.windowStart();
    },
    async onWindowEnd() {
      if (postgres) dbUs = postgres.windowEndUs();
      cpu = await server.call({ type: 'measure-stop' }, 'cpu', 60_000);
    },
    checkProbe(_status, body) {
      const answer = JSON.parse(body) as { access_token?: string; token_type?: string };
      const claims = answer.access_token ? decodeJwt(answer.access_token) : undefined;
      const cnf = claims?.cnf as { 'x5t#S256'?: unknown } | undefined;
      if (typeof cnf?.['x5t#S256'] !== 'string' || answer.token_type !== 'Bearer') {
        throw new Error(`${target} did not issue a certificate-bound token: ${body.slice(0, 300)}`);
      }
      if (round === 1) {
        const alg = decodeProtectedHeader(answer.access_token as string).alg;
        progress(
          `${target} answers ${body.length} bytes, a ${alg} token with claims ${Object.keys(claims ?? {}).join(' ')}`,
        );
      }
    },
  });
  if (!cpu) throw new Error('no CPU figure from the server process');
  if (load.errorRate > MAX_ERROR_RATE) {
    throw new Error(
      `${target} ${mode}: ${load.errors} of ${load.completed} requests failed (${(load.errorRate * 100).toFixed(2)}%); first: ${load.firstError}`,
    );
  }
  const m: Measurement = {
    round,
    mode,
    target,
    tokensPerS: load.rps,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    serverCpuUsPerToken: (cpu.userUs + cpu.systemUs) / load.completed,
    databaseCpuUsPerToken: dbUs === undefined ? undefined : dbUs / load.completed,
    clientCpuUsPerToken: load.clientCpuUsPerRequest,
    tokens: load.ok,
    errors: load.errors,
    newConnections: load.newConnections,
    windowMs: load.windowMs,
  };
  progress(
    `${label} ${fmt(m.tokensPerS, 0)} tokens/s  p50 ${fmt(m.p50Ms, 2)} ms  server ${fmt(m.serverCpuUsPerToken, 0)} µs/token` +
      (m.databaseCpuUsPerToken === undefined ? '' : `  db ${fmt(m.databaseCpuUsPerToken, 0)} µs/token`) +
      `  (${m.tokens} tokens, ${m.errors} errors, ${m.newConnections} new connections)`,
  );
  return m;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function summarise(measurements: Measurement[], mode: Mode, rounds: number): ModeSummary {
  const of = (target: Target, pick: (m: Measurement) => number) =>
    median(measurements.filter((m) => m.mode === mode && m.target === target).map(pick));
  const pairs: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const find = (t: Target) =>
      measurements.find((m) => m.round === round && m.mode === mode && m.target === t);
    const b = find('baseline');
    const p = find('platform');
    if (b && p) pairs.push(p.tokensPerS / b.tokensPerS);
  }
  const paired = { median: median(pairs), min: Math.min(...pairs), max: Math.max(...pairs) };
  const dbFigures = measurements
    .filter((m) => m.mode === mode && m.target === 'platform' && m.databaseCpuUsPerToken !== undefined)
    .map((m) => m.databaseCpuUsPerToken as number);
  return {
    baseline: {
      tokensPerS: of('baseline', (m) => m.tokensPerS),
      p50Ms: of('baseline', (m) => m.p50Ms),
      p99Ms: of('baseline', (m) => m.p99Ms),
      serverCpuUsPerToken: of('baseline', (m) => m.serverCpuUsPerToken),
    },
    platform: {
      tokensPerS: of('platform', (m) => m.tokensPerS),
      p50Ms: of('platform', (m) => m.p50Ms),
      p99Ms: of('platform', (m) => m.p99Ms),
      serverCpuUsPerToken: of('platform', (m) => m.serverCpuUsPerToken),
      databaseCpuUsPerToken: dbFigures.length === 0 ? undefined : median(dbFigures),
    },
    pairedThroughput: paired,
    target: {
      minThroughputRatio: TARGETS[mode],
      status: paired.median >= TARGETS[mode] ? 'PASS' : 'BELOW',
    },
  };
}

export async function runTokenBench(options: TokenBenchOptions): Promise<TokenBenchResult> {
  progress(`starting the platform (${options.database}) and the baseline in child processes`);
  const platform: Server = new ChildRpc(new URL('./token-server.ts', import.meta.url), {
    label: 'platform process',
  });
  let baseline: Server | undefined;
  let backends: PostgresBackends | undefined;
  const applicationName = `accredit-bench-token-${process.pid}`;
  let postgresUrl: string | undefined;
  if (options.database === 'postgres') {
    const url = new URL(options.postgresUrl);
    url.searchParams.set('application_name', applicationName);
    postgresUrl = url.toString();
  }
  try {
    const ready = await platform.call(
      {
        type: 'start',
        target: 'platform',
        postgresUrl,
        cpuProfileDir: options.cpuProfileDir,
      },
      'ready',
      120_000,
    );
    if (postgresUrl) {
      backends = new PostgresBackends(options.postgresUrl, applicationName);
      await backends.connect();
    }
    const material = ready.material as ServerMaterial;
    const client = ready.client as { cert: string; key: string; ca: string };
    baseline = new ChildRpc(new URL('./token-server.ts', import.meta.url), { label: 'baseline process' });
    const base = await baseline.call(
      {
        type: 'start',
        target: 'baseline',
        postgresUrl: undefined,
        material,
        cpuProfileDir: options.cpuProfileDir,
      },
      'ready',
    );
    const servers: Record<Target, { rpc: Server; url: string }> = {
      platform: { rpc: platform, url: ready.url },
      baseline: { rpc: baseline, url: base.url },
    };
    const measurements: Measurement[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // ABBA order: a slow drift in background load weighs on both targets alike.
      const order: Target[] = round % 2 === 1 ? ['baseline', 'platform'] : ['platform', 'baseline'];
      for (const mode of options.modes) {
        for (const target of order) {
          const s = servers[target];
          measurements.push(
            await measure(s.rpc, s.url, client, material.clientId, backends, options, target, mode, round),
          );
        }
      }
    }
    const modes: Partial<Record<Mode, ModeSummary>> = {};
    for (const mode of options.modes) modes[mode] = summarise(measurements, mode, options.rounds);
    const { json: _json, postgresUrl: _url, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      measurements,
      modes,
    };
  } finally {
    await Promise.all([platform.stop(), baseline?.stop(), backends?.close()]);
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

export function formatResult(result: TokenBenchResult): string {
  const o = result.options;
  const lines = [
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel}); database ${o.database}`,
    `${o.connections} connections, ${o.warmupS} s warm-up + ${o.durationS} s measured, ${o.rounds} rounds; median of rounds`,
    '',
  ];
  const summaryRows: string[][] = [
    ['mode', 'target', 'tokens/s', 'p50 ms', 'p99 ms', 'server CPU µs/token', 'db CPU µs/token'],
  ];
  for (const mode of MODES) {
    const s = result.modes[mode];
    if (!s) continue;
    summaryRows.push([
      mode,
      'baseline',
      fmt(s.baseline.tokensPerS, 0),
      fmt(s.baseline.p50Ms, 2),
      fmt(s.baseline.p99Ms, 2),
      fmt(s.baseline.serverCpuUsPerToken, 0),
      '',
    ]);
    summaryRows.push([
      mode,
      'platform',
      fmt(s.platform.tokensPerS, 0),
      fmt(s.platform.p50Ms, 2),
      fmt(s.platform.p99Ms, 2),
      fmt(s.platform.serverCpuUsPerToken, 0),
      s.platform.databaseCpuUsPerToken === undefined ? '' : fmt(s.platform.databaseCpuUsPerToken, 0),
    ]);
  }
  lines.push(table(summaryRows), '');
  for (const mode of MODES) {
    const s = result.modes[mode];
    if (!s) continue;
    lines.push(
      `${mode}: platform/baseline paired median ${fmt(s.pairedThroughput.median * 100, 1)}% ` +
        `(range ${fmt(s.pairedThroughput.min * 100, 1)}–${fmt(s.pairedThroughput.max * 100, 1)}%), ` +
        `target ≥ ${s.target.minThroughputRatio * 100}%: ${s.target.status}`,
    );
  }
  lines.push(
    '',
    'per round:',
    table([
      [
        'round',
        'mode',
        'target',
        'tokens/s',
        'p50 ms',
        'p99 ms',
        'server µs',
        'db µs',
        'errors',
        'new conns',
      ],
      ...result.measurements.map((m) => [
        String(m.round),
        m.mode,
        m.target,
        fmt(m.tokensPerS, 0),
        fmt(m.p50Ms, 2),
        fmt(m.p99Ms, 2),
        fmt(m.serverCpuUsPerToken, 0),
        m.databaseCpuUsPerToken === undefined ? '' : fmt(m.databaseCpuUsPerToken, 0),
        String(m.errors),
        String(m.newConnections),
      ]),
    ]),
  );
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/token.ts` and `bench/run.ts token`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'token',
    help: HELP,
    parse: parseOptions,
    run: runTokenBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
