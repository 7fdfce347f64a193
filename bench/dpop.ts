// `bench dpop`: the gateway's cost per request with a DPoP-bound access token (RFC 9449: a fresh proof per
// request, as clients make them) against a certificate-bound one (RFC 8705), measured in the same run, in
// paired rounds. Informational only: it never fails on a figure, only when the run itself breaks.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import type { CatalogRoute } from '../src/gateway/index.ts';
import { createDpopNonces } from '../src/shared/dpop/index.ts';
import { ChildRpc } from './child-rpc.ts';
import { AUDIENCE, createFixture, type Fixture, ROUTE } from './gateway-fixture.ts';
import { type ChildMessage, type ParentMessage, UPSTREAM_BODY } from './gateway-protocol.ts';
import { median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- dpop [options]
       node bench/dpop.ts [options]

Measures requests/s, p50/p99 latency and server CPU time per request of the gateway (createGateway) on
GET ${ROUTE.path} (catalog policy: mtls optional, dpop accepted) with two kinds of caller:
  certificate  mTLS with the client certificate, a certificate-bound ES256 token (cnf.x5t#S256) as Bearer
  dpop         TLS without a client certificate, a DPoP-bound ES256 token (cnf.jkt) and a fresh ES256 DPoP
               proof per request (jti, htm, htu, iat, ath, the server's current nonce)
Both tokens are verified once and then served from the gateway's verified-token cache, so the difference is
the proof: its signature, claims, thumbprint and replay-cache claim. Each measurement runs the server side
(gateway + upstream + JWKS) in a fresh child process whose CPU over the measured window is divided by the
requests completed; this process is the load generator (its proof signing is counted in loadgen µs/req).
Rounds alternate the order (ABBA) and the median of each round's back-to-back pair is reported.

Options:
  --connections <n>  concurrent keep-alive connections (default 16)
  --duration <s>     measured seconds per caller and round (default 3)
  --warmup <s>       unmeasured seconds before each measurement (default 1)
  --rounds <n>       paired rounds (default 16)
  --json             print the result as JSON on stdout
  -h, --help         show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke, 2 on bad options.
`;

const MAX_ERROR_RATE = 0.01;
type Caller = 'certificate' | 'dpop';

export interface DpopBenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  json: boolean;
}

interface Measurement {
  round: number;
  caller: Caller;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
  requests: number;
  errors: number;
  newConnections: number;
}

interface Summary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
}

export interface DpopBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<DpopBenchOptions, 'json'>;
  measurements: Measurement[];
  median: Record<Caller, Summary>;
  /** DPoP/certificate per round, back to back: throughput and server CPU per request. */
  paired: {
    throughput: { median: number; min: number; max: number };
    serverCpu: { median: number; min: number; max: number };
  };
  /** Median of each round's (dpop − certificate) server CPU per request: what checking a proof costs. */
  dpopExtraServerCpuUsPerRequest: number;
}

const progress = progressOf('dpop');

export function parseOptions(argv: string[]): DpopBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
  });
  if (v.help) return 'help';
  const rounds = number('rounds', v.rounds, 16, 1, true);
  if (rounds < 1) throw new UsageError('--rounds: at least 1');
  return {
    connections: number('connections', v.connections, 16, 1, true),
    durationS: number('duration', v.duration, 3, 0.1, false),
    warmupS: number('warmup', v.warmup, 1, 0, false),
    rounds,
    json: v.json,
  };
}

/** The seed catalog with the benchmarked operation open to both callers: mtls optional, dpop accepted. */
function routesFor(fixture: Fixture): CatalogRoute[] {
  const others = fixture.server.routes.filter(
    (r) => !(r.method === ROUTE.method && r.pathPattern === ROUTE.path),
  );
  return [
    ...others,
    {
      method: ROUTE.method,
      pathPattern: ROUTE.path,
      scopes: [[ROUTE.scope]],
      auth: 'token',
      mtls: 'optional',
      dpop: 'accepted',
    },
  ];
}

interface DpopClient {
  token: string;
  headers(): Promise<Record<string, string>>;
}

async function dpopClient(fixture: Fixture, nonceSecret: Buffer): Promise<DpopClient> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  const token = await fixture.signToken({ cnf: { jkt } });
  const ath = createHash('sha256').update(token).digest('base64url');
  // The client reuses the nonce the server last gave it; the shared secret yields the very same value.
  const nonces = createDpopNonces({ secret: nonceSecret });
  const htu = `${AUDIENCE}${ROUTE.path}`;
  return {
    token,
    async headers() {
      const now = Date.now();
      const proof = await new SignJWT({
        jti: randomUUID(),
        htm: ROUTE.method,
        htu,
        iat: Math.floor(now / 1000),
        ath,
        nonce: nonces.current(now),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
      return { dpop: proof };
    },
  };
}

async function measure(
  fixture: Fixture,
  routes: CatalogRoute[],
  options: DpopBenchOptions,
  caller: Caller,
  round: number,
): Promise<Measurement> {
  const label = `round ${round}/${options.rounds} ${caller.padEnd(11)}`;
  const nonceSecret = randomBytes(32);
  const server = new ChildRpc<ParentMessage, ChildMessage>(new URL('./gateway-server.ts', import.meta.url), {
    label: 'server process',
  });
  try {
    const { url } = await server.call(
      {
        type: 'start',
        target: 'gateway',
        material: { ...fixture.server, routes },
        upstreamConnections: 64,
        tokenCacheSize: undefined,
        logLevel: 'info',
        dpopNonceSecret: nonceSecret.toString('base64url'),
      },
      'ready',
    );
    const client = caller === 'dpop' ? await dpopClient(fixture, nonceSecret) : undefined;
    progress(`${label} warm-up ${options.warmupS} s, then ${options.durationS} s measured`);
    let cpu: Extract<ChildMessage, { type: 'cpu' }> | undefined;
    const load = await runLoad({
      origin: url,
      path: ROUTE.path,
      headers:
        client === undefined
          ? { authorization: `Bearer ${fixture.token}` }
          : { authorization: `DPoP ${client.token}` },
      ...(client !== undefined ? { perRequestHeaders: () => client.headers() } : {}),
      connections: options.connections,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
      // The DPoP caller presents no client certificate: its token is bound to its proof key instead.
      tls: client === undefined ? fixture.client : { ca: fixture.client.ca },
      async onWindowStart() {
        await server.call({ type: 'measure-start' }, 'measuring');
      },
      async onWindowEnd() {
        cpu = await server.call({ type: 'measure-stop' }, 'cpu');
      },
      checkProbe(_status, body) {
        if (body !== UPSTREAM_BODY)
          throw new Error(`${caller}: not the upstream's body: ${body.slice(0, 200)}`);
      },
    });
    if (!cpu) throw new Error('no CPU figure from the server process');
    if (load.errorRate > MAX_ERROR_RATE) {
      throw new Error(
        `${caller}: ${load.errors} of ${load.completed} requests failed; first: ${load.firstError}`,
      );
    }
    const m: Measurement = {
      round,
      caller,
      rps: load.rps,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      serverCpuUsPerRequest: (cpu.userUs + cpu.systemUs) / load.completed,
      clientCpuUsPerRequest: load.clientCpuUsPerRequest,
      requests: load.completed,
      errors: load.errors,
      newConnections: load.newConnections,
    };
    progress(
      `${label} ${fmt(m.rps, 0)} req/s  p50 ${fmt(m.p50Ms, 2)} ms  server ${fmt(m.serverCpuUsPerRequest, 1)} µs/req`,
    );
    return m;
  } finally {
    await server.stop();
  }
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function spread(values: number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export async function runDpopBench(options: DpopBenchOptions): Promise<DpopBenchResult> {
  progress('creating the CA, certificates, tokens and SQLite database');
  const fixture = await createFixture();
  try {
    const routes = routesFor(fixture);
    const measurements: Measurement[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const order: Caller[] = round % 2 === 1 ? ['certificate', 'dpop'] : ['dpop', 'certificate'];
      for (const caller of order) measurements.push(await measure(fixture, routes, options, caller, round));
    }
    const summary = (caller: Caller): Summary => {
      const of = (pick: (m: Measurement) => number) =>
        median(measurements.filter((m) => m.caller === caller).map(pick));
      return {
        rps: of((m) => m.rps),
        p50Ms: of((m) => m.p50Ms),
        p99Ms: of((m) => m.p99Ms),
        serverCpuUsPerRequest: of((m) => m.serverCpuUsPerRequest),
        clientCpuUsPerRequest: of((m) => m.clientCpuUsPerRequest),
      };
    };
    const throughput: number[] = [];
    const serverCpu: number[] = [];
    const extra: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const c = measurements.find((m) => m.round === round && m.caller === 'certificate');
      const d = measurements.find((m) => m.round === round && m.caller === 'dpop');
      if (!c || !d) continue;
      throughput.push(d.rps / c.rps);
      serverCpu.push(d.serverCpuUsPerRequest / c.serverCpuUsPerRequest);
      extra.push(d.serverCpuUsPerRequest - c.serverCpuUsPerRequest);
    }
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      measurements,
      median: { certificate: summary('certificate'), dpop: summary('dpop') },
      paired: { throughput: spread(throughput), serverCpu: spread(serverCpu) },
      dpopExtraServerCpuUsPerRequest: median(extra),
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

export function formatResult(result: DpopBenchResult): string {
  const o = result.options;
  const row = (name: string, s: Summary) => [
    name,
    fmt(s.rps, 0),
    fmt(s.p50Ms, 2),
    fmt(s.p99Ms, 2),
    fmt(s.serverCpuUsPerRequest, 1),
    fmt(s.clientCpuUsPerRequest, 1),
  ];
  const pct = (v: number) => `${fmt(v * 100, 1)}%`;
  const { throughput, serverCpu } = result.paired;
  return `${[
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel})`,
    `${o.connections} connections, ${o.warmupS} s warm-up + ${o.durationS} s measured, ${o.rounds} paired rounds; median of rounds`,
    '',
    table([
      ['caller', 'rps', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'loadgen µs/req'],
      row('certificate', result.median.certificate),
      row('dpop', result.median.dpop),
    ]),
    '',
    `dpop/certificate, paired: throughput ${pct(throughput.median)} (range ${pct(throughput.min)}–${pct(throughput.max)}), ` +
      `server CPU ×${fmt(serverCpu.median, 2)} (range ×${fmt(serverCpu.min, 2)}–×${fmt(serverCpu.max, 2)})`,
    `checking a DPoP proof adds ${fmt(result.dpopExtraServerCpuUsPerRequest, 1)} µs of server CPU per request (paired median)`,
    '',
    'per round:',
    table([
      [
        'round',
        'caller',
        'rps',
        'p50 ms',
        'p99 ms',
        'server µs/req',
        'loadgen µs/req',
        'errors',
        'new conns',
      ],
      ...result.measurements.map((m) => [
        String(m.round),
        m.caller,
        fmt(m.rps, 0),
        fmt(m.p50Ms, 2),
        fmt(m.p99Ms, 2),
        fmt(m.serverCpuUsPerRequest, 1),
        fmt(m.clientCpuUsPerRequest, 1),
        String(m.errors),
        String(m.newConnections),
      ]),
    ]),
  ].join('\n')}\n`;
}

/** Entry point shared by `node bench/dpop.ts` and `bench/run.ts dpop`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'dpop',
    help: HELP,
    parse: parseOptions,
    run: runDpopBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
