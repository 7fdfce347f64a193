// `bench doors`: what each door adds per decision — latency of its answer and server CPU — against the own
// gateway's allowed request, for the same partner, token, route and certificate, measured in the same run.
// Informational only: it never fails on a figure, only when the run itself breaks (see PERFORMANCE.md).
import { cpus } from 'node:os';
import { ChildRpc } from './child-rpc.ts';
import { type ChildMessage, DOORS, type Door, type ParentMessage } from './doors-protocol.ts';
import { httpRequestOf, lambdaEventOf } from './doors-requests.ts';
import { createFixture, type Fixture, ROUTE } from './gateway-fixture.ts';
import { UPSTREAM_BODY } from './gateway-protocol.ts';
import { median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- doors [options]
       node bench/doors.ts [options]

Measures, for one allowed GET ${ROUTE.path} (scope ${ROUTE.scope}) of the same partner with the same
certificate-bound ES256 access token and client certificate, each door's answer: requests/s, p50/p99
latency and server CPU time per decision, and their ratio to the own gateway's in the same round:
  gateway       (baseline) the own gateway over mTLS, proxying to a tiny upstream (as bench gateway)
  auth_request  decision listener, nginx's subrequest: X-Original-Method/-URI, the certificate as
                $ssl_client_escaped_cert in X-Client-Cert, Authorization
  ext_authz     decision listener, Envoy's HTTP check: /ext_authz${ROUTE.path}, x-forwarded-client-cert
                (Hash, Cert, Chain, Subject), Authorization
  authzen       decision listener, AuthZEN 1.0 POST /access/v1/evaluation (token and PEM in the subject)
  aws-lambda    the Lambda handler (startLambdaAuthorizer + its core) invoked in the server process with an
                API Gateway HTTP API 2.0 REQUEST event; one event at a time, as an execution environment
                runs; no network between caller and handler. Its change feed is polled once at cold start
                (ACCREDIT_REFRESH_MS 60000): polling is not measured.
The decision listener runs over the gateway's own core (as \`accredit gateway --decision-port\`); edges
authenticate with x-accredit-decision-secret. Each measurement runs the server side in a fresh child process,
whose process.cpuUsage() over the measured window is divided by the decisions completed in it; this process is
the load generator (undici, keep-alive, one request in flight per connection). The doors' order alternates
between rounds (forward, then reversed); ratios are the median of each round's door/gateway ratio.

Options:
  --connections <n>   concurrent keep-alive connections for the HTTP doors (default 1: latency, not
                      saturation; the Lambda door is always one event at a time)
  --duration <s>      measured seconds per door and round (default 3)
  --warmup <s>        unmeasured seconds before each measurement (default 1)
  --rounds <n>        rounds of every door (default 4; ≥ 16 for figures worth quoting)
  --doors <list>      comma-separated subset (gateway is always measured: it is the baseline)
  --log-level <level> logger level of the server side; decision lines go to /dev/null (default info)
  --json              print the result as JSON on stdout
  -h, --help          show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke (a server failed,
or more than 1% of the decisions were not an allow), 2 on bad options.
`;

const MAX_ERROR_RATE = 0.01;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface DoorsBenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  doors: Door[];
  logLevel: string;
  json: boolean;
}

export interface DoorMeasurement {
  round: number;
  door: Door;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDecision: number;
  decisions: number;
  errors: number;
  /** Decisions the server counted in its CPU window (a cross-check of `decisions`). */
  serverCounted: number;
  windowMs: number;
}

export interface DoorSummary {
  door: Door;
  /** Medians over the rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDecision: number;
  /** Median of the rounds' door/gateway ratios (1 for the gateway itself), with their range. */
  ratio: {
    p50: number;
    p99: number;
    serverCpu: number;
    serverCpuRange: [number, number];
    p50Range: [number, number];
  };
}

export interface DoorsBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<DoorsBenchOptions, 'json'>;
  summary: DoorSummary[];
  measurements: DoorMeasurement[];
}

const progress = progressOf('doors');

export function parseOptions(argv: string[]): DoorsBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    doors: { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (v.help) return 'help';
  const logLevel = v['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);
  let doors: Door[] = [...DOORS];
  if (v.doors !== undefined) {
    const asked = v.doors.split(',').map((d) => d.trim());
    const unknown = asked.filter((d) => !(DOORS as readonly string[]).includes(d));
    if (unknown.length > 0)
      throw new UsageError(`--doors: unknown ${unknown.join(', ')}; one of ${DOORS.join(', ')}`);
    doors = DOORS.filter((d) => d === 'gateway' || asked.includes(d));
  }
  return {
    connections: number('connections', v.connections, 1, 1, true),
    durationS: number('duration', v.duration, 3, 0.1, false),
    warmupS: number('warmup', v.warmup, 1, 0, false),
    rounds: number('rounds', v.rounds, 4, 1, true),
    doors,
    logLevel,
    json: v.json,
  };
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** An HTTP door: the load generator here, the door and what it needs in the child. */
async function measureHttp(
  server: ChildRpc<ParentMessage, ChildMessage>,
  url: string,
  door: Exclude<Door, 'aws-lambda'>,
  fixture: Fixture,
  options: DoorsBenchOptions,
  round: number,
): Promise<DoorMeasurement> {
  const request = httpRequestOf(door, fixture);
  let cpu: Extract<ChildMessage, { type: 'cpu' }> | undefined;
  const load = await runLoad({
    origin: url,
    path: request.path,
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
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
      // 200 is an allow on every HTTP door; the gateway's also carries the upstream's body, AuthZEN's a decision.
      if (door === 'gateway' && body !== UPSTREAM_BODY)
        throw new Error(`gateway did not return the upstream's body: ${body.slice(0, 200)}`);
      if (door === 'authzen' && (JSON.parse(body) as { decision?: unknown }).decision !== true)
        throw new Error(`authzen did not allow: ${body.slice(0, 300)}`);
    },
  });
  if (!cpu) throw new Error('no CPU figure from the server process');
  if (load.errorRate > MAX_ERROR_RATE) {
    throw new Error(
      `${door}: ${load.errors} of ${load.completed} requests failed (${fmt(load.errorRate * 100, 2)}%); first: ${load.firstError}`,
    );
  }
  return {
    round,
    door,
    rps: load.rps,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    serverCpuUsPerDecision: (cpu.userUs + cpu.systemUs) / load.completed,
    decisions: load.completed,
    errors: load.errors,
    serverCounted: cpu.served,
    windowMs: load.windowMs,
  };
}

/** The Lambda door: the child invokes its handler in a loop and times it; nothing runs here meanwhile. */
async function measureLambda(
  server: ChildRpc<ParentMessage, ChildMessage>,
  fixture: Fixture,
  options: DoorsBenchOptions,
  round: number,
): Promise<DoorMeasurement> {
  const warmupMs = options.warmupS * 1000;
  const durationMs = options.durationS * 1000;
  const r = await server.call(
    { type: 'invoke', event: lambdaEventOf(fixture), warmupMs, durationMs },
    'invoked',
    warmupMs + durationMs + 30_000,
  );
  const errorRate = r.invocations === 0 ? 1 : r.errors / r.invocations;
  if (errorRate > MAX_ERROR_RATE) {
    throw new Error(
      `aws-lambda: ${r.errors} of ${r.invocations} invocations did not allow; first: ${r.firstError}`,
    );
  }
  const ok = r.invocations - r.errors;
  return {
    round,
    door: 'aws-lambda',
    rps: (ok * 1000) / r.windowMs,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUsPerDecision: (r.userUs + r.systemUs) / r.invocations,
    decisions: r.invocations,
    errors: r.errors,
    serverCounted: r.invocations,
    windowMs: r.windowMs,
  };
}

async function measure(
  fixture: Fixture,
  options: DoorsBenchOptions,
  door: Door,
  round: number,
): Promise<DoorMeasurement> {
  const label = `round ${round}/${options.rounds} ${door.padEnd(12)}`;
  progress(`${label} starting the server process`);
  const server = new ChildRpc<ParentMessage, ChildMessage>(new URL('./doors-server.ts', import.meta.url), {
    label: 'server process',
  });
  try {
    const { url } = await server.call(
      { type: 'start', door, material: fixture.server, logLevel: options.logLevel },
      'ready',
    );
    progress(`${label} warm-up ${options.warmupS} s, then ${options.durationS} s measured`);
    const m =
      door === 'aws-lambda'
        ? await measureLambda(server, fixture, options, round)
        : await measureHttp(server, url, door, fixture, options, round);
    progress(
      `${label} ${fmt(m.rps, 0)} req/s  p50 ${fmt(m.p50Ms, 3)} ms  p99 ${fmt(m.p99Ms, 3)} ms  ` +
        `server ${fmt(m.serverCpuUsPerDecision, 1)} µs/decision  (${m.decisions} decisions, ${m.errors} errors)`,
    );
    return m;
  } finally {
    await server.stop();
  }
}

function range(values: number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

export function summarise(measurements: DoorMeasurement[], doors: Door[], rounds: number): DoorSummary[] {
  return doors.map((door) => {
    const mine = measurements.filter((m) => m.door === door);
    const of = (pick: (m: DoorMeasurement) => number) => median(mine.map(pick));
    // A round's door and gateway ran minutes apart at most, under the same background load: compare those.
    const paired = (pick: (m: DoorMeasurement) => number) => {
      const ratios: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const d = mine.find((m) => m.round === round);
        const g = measurements.find((m) => m.round === round && m.door === 'gateway');
        if (d && g) ratios.push(pick(d) / pick(g));
      }
      return ratios;
    };
    const cpu = paired((m) => m.serverCpuUsPerDecision);
    const p50 = paired((m) => m.p50Ms);
    return {
      door,
      rps: of((m) => m.rps),
      p50Ms: of((m) => m.p50Ms),
      p99Ms: of((m) => m.p99Ms),
      serverCpuUsPerDecision: of((m) => m.serverCpuUsPerDecision),
      ratio: {
        p50: median(p50),
        p99: median(paired((m) => m.p99Ms)),
        serverCpu: median(cpu),
        serverCpuRange: range(cpu),
        p50Range: range(p50),
      },
    };
  });
}

export async function runDoorsBench(options: DoorsBenchOptions): Promise<DoorsBenchResult> {
  progress('creating the CA, certificates, token and SQLite database');
  const fixture = await createFixture();
  try {
    const measurements: DoorMeasurement[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // Forward then reversed: a drift in background load weighs on every door alike over two rounds.
      const order = round % 2 === 1 ? options.doors : [...options.doors].reverse();
      for (const door of order) measurements.push(await measure(fixture, options, door, round));
    }
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      summary: summarise(measurements, options.doors, options.rounds),
      measurements,
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

const ratioOf = (value: number) => `×${fmt(value, 2)}`;
const rangeOf = ([min, max]: [number, number]) => `${fmt(min, 2)}–${fmt(max, 2)}`;

export function formatResult(result: DoorsBenchResult): string {
  const o = result.options;
  const lines = [
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel})`,
    `${o.connections} connection(s) per HTTP door, ${o.warmupS} s warm-up + ${o.durationS} s measured, ` +
      `${o.rounds} rounds, order alternated; medians of rounds; ratios: median of each round's door/gateway`,
    '',
    table([
      [
        'door',
        'req/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/decision',
        'p50 vs gateway',
        'CPU vs gateway',
        'CPU ratio range',
      ],
      ...result.summary.map((s) => [
        s.door,
        fmt(s.rps, 0),
        fmt(s.p50Ms, 3),
        fmt(s.p99Ms, 3),
        fmt(s.serverCpuUsPerDecision, 1),
        ratioOf(s.ratio.p50),
        ratioOf(s.ratio.serverCpu),
        rangeOf(s.ratio.serverCpuRange),
      ]),
    ]),
    '',
    'gateway: an allowed request proxied to the upstream (its CPU includes the proxying). aws-lambda: the handler',
    'in-process, no network (API Gateway adds its own); its change feed is not polled during the measurement.',
    '',
    'per round:',
    table([
      ['round', 'door', 'req/s', 'p50 ms', 'p99 ms', 'server µs/decision', 'decisions', 'errors'],
      ...result.measurements.map((m) => [
        String(m.round),
        m.door,
        fmt(m.rps, 0),
        fmt(m.p50Ms, 3),
        fmt(m.p99Ms, 3),
        fmt(m.serverCpuUsPerDecision, 1),
        String(m.decisions),
        String(m.errors),
      ]),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/doors.ts` and `bench/run.ts doors`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'doors',
    help: HELP,
    parse: parseOptions,
    run: runDoorsBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
