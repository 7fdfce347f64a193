// `npm run bench -- soak`: a real `accredit serve` under a steady open-loop load at a fraction (80 %) of the
// rate it was just measured to sustain, for minutes, sampling its memory, event-loop lag, the achieved rate,
// latency and errors every few seconds (issue 16: "flat memory and zero errors"). A benchmark: it reports the
// memory curve and a verdict, it never fails on a figure; only a run that breaks exits 1.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Pool, request } from 'undici';
import { csrWithKey } from '../test/gateway/fixture.ts';
import { POSTGRES_URL } from '../test/support/engines.ts';
import { CLI, freePort, PlatformProcess } from '../test/support/platform-process.ts';
import { percentile } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- soak [options]
       node bench/soak.ts [options]

Starts \`accredit serve\` in a child process (SQLite by default) with one partner (organisation, tls_client_auth
application, certificate), then:
  phase 1  the maximum sustainable rate: a closed loop over --connections keep-alive mTLS connections for
           --probe-seconds (the first 3 s unmeasured) with the soak's request mix
  phase 2  an open loop at --fraction of that rate for --minutes: requests are sent on schedule whether or
           not earlier ones have answered, latency counts from the scheduled time (no coordinated omission)
The mix, every 20 requests: 18 GET /v1/accounts through the gateway with the current (cached) access token,
1 client-credentials token request at the mTLS token endpoint (a new token replaces the current one every
30 s, as a client would renew it), 1 GET /v1/accounts with an invalid token (expected: 401).
Every --sample seconds: the platform's RSS (/proc/<pid>/status VmRSS), V8 heap used and event-loop p99 (its
Prometheus /metrics), the achieved rate, latency p50/p99, errors (another status than the expected one,
socket errors, requests the load generator could not send) and the load average.

Options:
  --minutes <n>        phase 2 duration in minutes (default 10)
  --fraction <x>       share of the measured maximum to run at (default 0.8)
  --probe-seconds <n>  phase 1 duration (default 25)
  --connections <n>    keep-alive connections to the gateway (default 16; the token endpoint gets a quarter)
  --sample <s>         sampling interval in seconds (default 10)
  --database <engine>  sqlite (default) or postgres (ACCREDIT_TEST_POSTGRES_URL, default
                       postgres://postgres@127.0.0.1:5432/test, in a schema of its own, dropped afterwards)
  --json               print the result as JSON on stdout
  -h, --help           show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke (the platform did
not start or exited), 2 on bad options.
`;

const progress = progressOf('soak');
const MIB = 1024 * 1024;
/** Requests in flight above which the open loop stops sending and counts the request as an error (dropped). */
const MAX_IN_FLIGHT = 4096;
const TOKEN_RENEW_MS = 30_000;
const WARMUP_MS = 3_000;
/** The memory verdict's threshold (informational): RSS growth after minute 2 within this share is "flat". */
const FLAT_GROWTH = 0.1;

export interface SoakOptions {
  minutes: number;
  fraction: number;
  probeSeconds: number;
  connections: number;
  sampleS: number;
  database: 'sqlite' | 'postgres';
  json: boolean;
}

export interface Sample {
  /** Seconds since phase 2 began, at the end of the interval. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  eventLoopP99Ms: number;
  /** The longest event-loop delay since the previous sample (a pause too rare to show in the p99). */
  eventLoopMaxMs: number;
  /** Requests answered in the interval, per second (any status; not the ones never sent). */
  rate: number;
  sent: number;
  ok: number;
  /** Every request without its expected answer, `dropped` included. */
  errors: number;
  /** Requests not sent because MAX_IN_FLIGHT were already waiting (the platform had fallen behind). */
  dropped: number;
  /** The most requests in flight at once during the interval. */
  maxInFlight: number;
  p50Ms: number;
  p99Ms: number;
  load1: number;
}

export interface MinuteRow {
  minute: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** The lowest heap-used sample of the minute: close to the heap after a collection, the floor to watch. */
  heapMinMiB: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  eventLoopP99Ms: number;
  errors: number;
  dropped: number;
  load1: number;
}

export interface SoakResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<SoakOptions, 'json'>;
  probe: { maxRate: number; p50Ms: number; p99Ms: number; errors: number };
  targetRate: number;
  achievedRate: number;
  requests: { sent: number; ok: number; errors: number; byKind: Record<Kind, number> };
  errorKinds: Record<string, number>;
  samples: Sample[];
  minutes: MinuteRow[];
  loadAverage: { start: number[]; end: number[] };
  verdict: {
    /** Seconds into phase 2 of the first sample the growth counts from (120 s: minute 2, when the run is long enough). */
    rssFromS: number;
    rssFromMiB: number;
    rssToMiB: number;
    rssGrowthMiB: number;
    rssGrowthPct: number;
    rssSlopeMiBPerMin: number;
    heapSlopeMiBPerMin: number;
    memoryFlat: boolean;
    zeroErrors: boolean;
  };
}

type Kind = 'get' | 'token' | 'refused';
const EXPECTED: Record<Kind, number> = { get: 200, token: 200, refused: 401 };

/** 18 of 20 cached-token GETs, 1 token request, 1 refused GET, interleaved. */
function kindOf(i: number): Kind {
  const slot = i % 20;
  return slot === 7 ? 'token' : slot === 15 ? 'refused' : 'get';
}

export function parseOptions(argv: string[]): SoakOptions | 'help' {
  const v = parseBenchArgs(argv, {
    minutes: { type: 'string' },
    fraction: { type: 'string' },
    'probe-seconds': { type: 'string' },
    connections: { type: 'string' },
    sample: { type: 'string' },
    database: { type: 'string' },
  });
  if (v.help) return 'help';
  const database = (v.database ?? 'sqlite') as SoakOptions['database'];
  if (database !== 'sqlite' && database !== 'postgres')
    throw new UsageError('--database: sqlite or postgres');
  const fraction = number('fraction', v.fraction, 0.8, 0.01, false);
  if (fraction > 1) throw new UsageError('--fraction: at most 1');
  return {
    minutes: number('minutes', v.minutes, 10, 0.1, false),
    fraction,
    probeSeconds: number('probe-seconds', v['probe-seconds'], 25, 4, false),
    connections: number('connections', v.connections, 16, 1, true),
    sampleS: number('sample', v.sample, 10, 1, false),
    database,
    json: v.json,
  };
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message ?? err).slice(0, 80);
}

/** The platform, its partner, and the pools a partner uses. */
interface Setup {
  platform: PlatformProcess;
  child: ChildProcess;
  metricsUrl: string;
  gateway: Pool;
  mtls: Pool;
  clientId: string;
  token: { value: string; at: number };
  stderrTail: () => string;
  close(): Promise<void>;
}

async function setUp(options: SoakOptions): Promise<Setup> {
  const schema = `soak_${randomBytes(5).toString('hex')}`;
  const metricsPort = await freePort();
  const platform = await PlatformProcess.create({
    ACCREDIT_METRICS_PORT: String(metricsPort),
    ...(options.database === 'postgres'
      ? { ACCREDIT_DATABASE_URL: POSTGRES_URL, ACCREDIT_DATABASE_SCHEMA: schema }
      : {}),
  });
  const init = await platform.cli(['init', '--json']);
  if (init.code !== 0) throw new Error(`accredit init failed: ${init.stderr}`);
  // Logs at the default level go to /dev/null: the platform pays for writing them, nothing piles up here.
  const out = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [CLI, '--dir', platform.dir, 'serve'], {
    env: { ...process.env, ...platform.env },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  let tail = '';
  child.stderr!.on('data', (d) => {
    tail = (tail + String(d)).slice(-8000);
  });
  const pools: Pool[] = [];
  const close = async () => {
    for (const p of pools) await p.destroy().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    platform.cleanup();
    if (options.database === 'postgres') {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`platform did not start:\n${tail}`)), 60_000);
      const onData = () => {
        if (tail.includes('accredit: serving')) {
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`platform exited with ${code}:\n${tail}`));
      });
    });
    const ca = readFileSync(platform.caBundle, 'utf8');
    const operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
    const adminPool = new Pool(platform.url, { connect: { ca } });
    pools.push(adminPool);
    const admin = async <T>(path: string, body: unknown): Promise<T> => {
      const res = await request(`${platform.url}/admin/v1${path}`, {
        method: 'POST',
        dispatcher: adminPool,
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`POST ${path}: ${res.statusCode} ${text}`);
      return JSON.parse(text) as T;
    };
    const org = await admin<{ id: string }>('/organisations', { name: 'Soak Bank' });
    const app = await admin<{ client_id: string }>('/applications', {
      org_id: org.id,
      name: 'Soak',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await admin<{ certificate_pem: string }>(`/applications/${app.client_id}/certificates`, {
      csr: csrPem,
    });
    const tls = { ca, cert: cert.certificate_pem, key: keyPem };
    const gateway = new Pool(platform.gatewayUrl, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      connect: tls,
    });
    const mtls = new Pool(platform.mtlsUrl, {
      connections: Math.max(1, Math.ceil(options.connections / 4)),
      pipelining: 1,
      keepAliveTimeout: 120_000,
      connect: tls,
    });
    pools.push(gateway, mtls);
    const setup: Setup = {
      platform,
      child,
      metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      gateway,
      mtls,
      clientId: app.client_id,
      token: { value: '', at: 0 },
      stderrTail: () => tail,
      close,
    };
    const first = await send(setup, 'token');
    if (first.status !== 200) throw new Error(`the first token request answered ${first.status}`);
    const probe = await send(setup, 'get');
    if (probe.status !== 200) throw new Error(`the first gateway request answered ${probe.status}`);
    return setup;
  } catch (err) {
    await close();
    throw err;
  }
}

/** One request of the mix; never throws (a socket error is status 0 with its code). */
async function send(setup: Setup, kind: Kind): Promise<{ status: number; error?: string }> {
  try {
    if (kind === 'token') {
      const res = await setup.mtls.request({
        path: '/token',
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${encodeURIComponent(setup.clientId)}`,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return { status: res.statusCode };
      }
      const body = (await res.body.json()) as { access_token?: string };
      const now = Date.now();
      if (body.access_token && now - setup.token.at >= TOKEN_RENEW_MS) {
        setup.token = { value: body.access_token, at: now };
      }
      return { status: 200 };
    }
    const res = await setup.gateway.request({
      path: '/v1/accounts',
      method: 'GET',
      headers: {
        authorization: `Bearer ${kind === 'get' ? setup.token.value : 'not-a-valid-access-token'}`,
      },
    });
    await res.body.dump();
    return { status: res.statusCode };
  } catch (err) {
    return { status: 0, error: describe(err) };
  }
}

/** Counts of one interval; latencies in ms. */
class Interval {
  sent = 0;
  ok = 0;
  errors = 0;
  dropped = 0;
  maxInFlight = 0;
  latencies: number[] = [];
}

class Recorder {
  current = new Interval();
  readonly closed: Interval[] = [];
  readonly errorKinds: Record<string, number> = {};
  readonly byKind: Record<Kind, number> = { get: 0, token: 0, refused: 0 };
  record(kind: Kind, result: { status: number; error?: string }, latencyMs: number): void {
    const i = this.current;
    this.byKind[kind]++;
    if (result.status === EXPECTED[kind]) {
      i.ok++;
      i.latencies.push(latencyMs);
    } else {
      i.errors++;
      const what = `${kind}: ${result.error ?? `HTTP ${result.status}`}`;
      this.errorKinds[what] = (this.errorKinds[what] ?? 0) + 1;
    }
  }
  drop(what: string): void {
    this.current.errors++;
    this.current.dropped++;
    this.errorKinds[what] = (this.errorKinds[what] ?? 0) + 1;
  }
  rotate(): Interval {
    const done = this.current;
    this.current = new Interval();
    this.closed.push(done);
    return done;
  }
}

/** Phase 1: a closed loop, one request in flight per connection; requests/s after the warm-up. */
async function probeMaxRate(setup: Setup, options: SoakOptions): Promise<SoakResult['probe']> {
  let stopped = false;
  let measuring = false;
  let next = 0;
  const recorder = new Recorder();
  const worker = async () => {
    while (!stopped) {
      const kind = kindOf(next++);
      const t0 = performance.now();
      const result = await send(setup, kind);
      if (measuring) recorder.record(kind, result, performance.now() - t0);
    }
  };
  const workers = Array.from({ length: options.connections }, worker);
  await sleep(WARMUP_MS);
  measuring = true;
  const t0 = performance.now();
  await sleep(options.probeSeconds * 1000 - WARMUP_MS);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(workers);
  const i = recorder.current;
  const sorted = Float64Array.from(i.latencies).sort();
  return {
    maxRate: (i.ok + i.errors) / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: i.errors,
  };
}

async function scrape(url: string): Promise<Record<string, number>> {
  const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? ([0-9.eE+-]+|NaN)$/.exec(line);
    if (m && !(m[1]! in values)) values[m[1]!] = Number(m[2]);
  }
  return values;
}

function vmRssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const loadStart = loadavg();
  progress(`starting accredit serve (${options.database}) and a partner`);
  const setup = await setUp(options);
  const { child } = setup;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `the platform exited (code ${code}, signal ${signal}):\n${setup.stderrTail()}`;
  });
  try {
    progress(
      `phase 1: maximum rate, closed loop over ${options.connections} connections, ${options.probeSeconds} s`,
    );
    const probe = await probeMaxRate(setup, options);
    const targetRate = probe.maxRate * options.fraction;
    progress(
      `phase 1: ${round(probe.maxRate, 0)} req/s (p50 ${round(probe.p50Ms, 2)} ms, p99 ${round(probe.p99Ms, 2)} ms, ` +
        `${probe.errors} errors); phase 2: ${round(targetRate, 0)} req/s for ${options.minutes} min`,
    );
    if (exited) throw new Error(exited);
    const recorder = new Recorder();
    const samples: Sample[] = [];
    const durationMs = options.minutes * 60_000;
    const sampleMs = options.sampleS * 1000;
    let inFlight = 0;
    let sent = 0;
    const start = performance.now();
    const pending = new Set<Promise<void>>();
    let nextSample = sampleMs;
    let sampling: Promise<void> = Promise.resolve();

    let lastT = 0;
    const takeSample = async (t: number) => {
      const interval = recorder.rotate();
      // The last interval may be shorter than the others.
      const seconds = (t - lastT) / 1000;
      lastT = t;
      const sorted = Float64Array.from(interval.latencies).sort();
      let metrics: Record<string, number> = {};
      try {
        metrics = await scrape(setup.metricsUrl);
      } catch (err) {
        progress(`metrics scrape failed: ${describe(err)}`);
      }
      const s: Sample = {
        t: round(t / 1000, 0),
        rssMiB: round(child.pid === undefined ? Number.NaN : vmRssMiB(child.pid)),
        heapUsedMiB: round((metrics.nodejs_heap_size_used_bytes ?? Number.NaN) / MIB),
        heapTotalMiB: round((metrics.nodejs_heap_size_total_bytes ?? Number.NaN) / MIB),
        eventLoopP99Ms: round((metrics.nodejs_eventloop_lag_p99_seconds ?? Number.NaN) * 1000, 2),
        eventLoopMaxMs: round((metrics.nodejs_eventloop_lag_max_seconds ?? Number.NaN) * 1000, 2),
        rate: round((interval.ok + interval.errors - interval.dropped) / seconds, 0),
        sent: interval.sent,
        ok: interval.ok,
        errors: interval.errors,
        dropped: interval.dropped,
        maxInFlight: interval.maxInFlight,
        p50Ms: round(percentile(sorted, 50), 2),
        p99Ms: round(percentile(sorted, 99), 2),
        load1: round(loadavg()[0]!, 2),
      };
      samples.push(s);
      progress(
        `t=${String(s.t).padStart(4)} s  RSS ${s.rssMiB} MiB  heap ${s.heapUsedMiB} MiB  ${s.rate} req/s  ` +
          `p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  loop p99 ${s.eventLoopP99Ms} ms, max ${s.eventLoopMaxMs} ms  errors ${s.errors} ` +
          `(${s.dropped} not sent, ${s.maxInFlight} max in flight)  load ${s.load1}`,
      );
    };

    // The open loop: every request has a scheduled time; latency is measured from it.
    const intervalMs = 1000 / targetRate;
    while (!exited) {
      const now = performance.now() - start;
      if (now >= durationMs) break;
      const due = Math.floor(now / intervalMs);
      while (sent <= due) {
        const scheduled = start + sent * intervalMs;
        const kind = kindOf(sent);
        sent++;
        recorder.current.sent++;
        if (inFlight >= MAX_IN_FLIGHT) {
          recorder.drop(`${kind}: not sent (${MAX_IN_FLIGHT} in flight)`);
          continue;
        }
        inFlight++;
        if (inFlight > recorder.current.maxInFlight) recorder.current.maxInFlight = inFlight;
        const p: Promise<void> = send(setup, kind).then((result) => {
          inFlight--;
          recorder.record(kind, result, performance.now() - scheduled);
          pending.delete(p);
        });
        pending.add(p);
      }
      if (now >= nextSample) {
        const t = nextSample;
        nextSample += sampleMs;
        await sampling;
        sampling = takeSample(t);
      }
      await sleep(1);
    }
    if (exited) throw new Error(exited);
    await Promise.race([Promise.all(pending), sleep(10_000)]);
    await sampling;
    if (performance.now() - start - (nextSample - sampleMs) > sampleMs / 2 || samples.length === 0) {
      await takeSample(performance.now() - start);
    }
    if (exited) throw new Error(exited);

    const minutes: MinuteRow[] = [];
    const perMinute = Math.max(1, Math.round(60 / options.sampleS));
    for (let m = 0; m * perMinute < samples.length; m++) {
      const rows = samples.slice(m * perMinute, (m + 1) * perMinute);
      const intervals = recorder.closed.slice(m * perMinute, (m + 1) * perMinute);
      const lat = Float64Array.from(intervals.flatMap((i) => i.latencies)).sort();
      const last = rows.at(-1)!;
      const answered = intervals.reduce((s, i) => s + i.ok + i.errors - i.dropped, 0);
      minutes.push({
        minute: m + 1,
        rssMiB: last.rssMiB,
        heapUsedMiB: last.heapUsedMiB,
        heapMinMiB: Math.min(...rows.map((r) => r.heapUsedMiB)),
        rate: round(answered / (last.t - (m === 0 ? 0 : samples[m * perMinute - 1]!.t)), 0),
        p50Ms: round(percentile(lat, 50), 2),
        p99Ms: round(percentile(lat, 99), 2),
        eventLoopP99Ms: Math.max(...rows.map((r) => r.eventLoopP99Ms)),
        errors: rows.reduce((s, r) => s + r.errors, 0),
        dropped: rows.reduce((s, r) => s + r.dropped, 0),
        load1: last.load1,
      });
    }
    // Memory after minute 2 (start-up, JIT, caches and pools filled) to the end.
    const settled = samples.filter((s) => s.t >= 120);
    const tail = settled.length >= 2 ? settled : samples;
    const from = tail[0]!;
    const to = tail.at(-1)!;
    const rssSlope = slope(tail.map((s) => [s.t / 60, s.rssMiB]));
    const heapSlope = slope(tail.map((s) => [s.t / 60, s.heapUsedMiB]));
    const ok = samples.reduce((s, x) => s + x.ok, 0);
    const errors = samples.reduce((s, x) => s + x.errors, 0);
    const dropped = samples.reduce((s, x) => s + x.dropped, 0);
    const growth = to.rssMiB - from.rssMiB;
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      probe: {
        maxRate: round(probe.maxRate, 0),
        p50Ms: round(probe.p50Ms, 2),
        p99Ms: round(probe.p99Ms, 2),
        errors: probe.errors,
      },
      targetRate: round(targetRate, 0),
      achievedRate: round((ok + errors - dropped) / (samples.at(-1)!.t || 1), 0),
      requests: { sent, ok, errors, byKind: recorder.byKind },
      errorKinds: recorder.errorKinds,
      samples,
      minutes,
      loadAverage: { start: loadStart.map((x) => round(x, 2)), end: loadavg().map((x) => round(x, 2)) },
      verdict: {
        rssFromS: from.t,
        rssFromMiB: from.rssMiB,
        rssToMiB: to.rssMiB,
        rssGrowthMiB: round(growth),
        rssGrowthPct: round((growth / from.rssMiB) * 100),
        rssSlopeMiBPerMin: round(rssSlope, 2),
        heapSlopeMiBPerMin: round(heapSlope, 2),
        memoryFlat: Math.abs(growth / from.rssMiB) <= FLAT_GROWTH,
        zeroErrors: errors === 0,
      },
    };
  } finally {
    progress('stopping the platform');
    await setup.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
}

export function formatResult(r: SoakResult): string {
  const o = r.options;
  const v = r.verdict;
  const lines = [
    `Node ${r.node}, ${r.cpus} CPUs (${r.cpuModel}); accredit serve on ${o.database}`,
    `phase 1 (closed loop, ${o.connections} connections, ${o.probeSeconds} s): ${r.probe.maxRate} req/s, ` +
      `p50 ${r.probe.p50Ms} ms, p99 ${r.probe.p99Ms} ms, ${r.probe.errors} errors`,
    `phase 2 (open loop, ${o.minutes} min at ${o.fraction * 100} %): target ${r.targetRate} req/s, ` +
      `achieved ${r.achievedRate} req/s; ${r.requests.sent} sent (${r.requests.byKind.get} GET, ` +
      `${r.requests.byKind.token} token, ${r.requests.byKind.refused} refused), ${r.requests.errors} errors`,
    `load average (1/5/15 min): start ${r.loadAverage.start.join(' / ')}, end ${r.loadAverage.end.join(' / ')}`,
    '',
    table([
      [
        'minute',
        'RSS MiB',
        'heap MiB',
        'heap min',
        'req/s',
        'p50 ms',
        'p99 ms',
        'loop p99 ms',
        'errors',
        'not sent',
        'load1',
      ],
      ...r.minutes.map((m) => [
        String(m.minute),
        m.rssMiB.toFixed(1),
        m.heapUsedMiB.toFixed(1),
        m.heapMinMiB.toFixed(1),
        String(m.rate),
        m.p50Ms.toFixed(2),
        m.p99Ms.toFixed(2),
        m.eventLoopP99Ms.toFixed(2),
        String(m.errors),
        String(m.dropped),
        m.load1.toFixed(2),
      ]),
    ]),
    '',
    `RSS from t=${v.rssFromS} s to the end: ${v.rssFromMiB} → ${v.rssToMiB} MiB (${v.rssGrowthMiB >= 0 ? '+' : ''}${v.rssGrowthMiB} MiB, ` +
      `${v.rssGrowthPct >= 0 ? '+' : ''}${v.rssGrowthPct} %); slope ${v.rssSlopeMiBPerMin} MiB/min ` +
      `(heap used ${v.heapSlopeMiBPerMin} MiB/min)`,
    `memory flat (growth within ±${FLAT_GROWTH * 100} %): ${v.memoryFlat ? 'yes' : 'no'}`,
    `zero errors: ${
      v.zeroErrors
        ? 'yes'
        : `no (${Object.entries(r.errorKinds)
            .map(([k, n]) => `${k} ×${n}`)
            .join(', ')})`
    }`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/soak.ts` and `bench/run.ts soak`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'soak',
    help: HELP,
    parse: parseOptions,
    run: runSoak,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
