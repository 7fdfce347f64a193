// A closed-loop HTTPS load generator with a client certificate: a fixed number of keep-alive connections,
// one request in flight on each, a warm-up whose samples are dropped, then a measured window.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface LoadOptions {
  /** https://host:port */
  origin: string;
  path: string;
  /** Default GET without a body; a POST sends `body` with every request (an AuthZEN evaluation). */
  method?: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
  /**
   * Headers made afresh for every request (a DPoP proof per request, as clients do), added to `headers`; their
   * cost is the load generator's, counted in its CPU, not the server's.
   */
  perRequestHeaders?: () => Promise<Record<string, string>>;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /**
   * A new TLS connection (full handshake: no session resumption) for every request, instead of kept-alive ones.
   */
  freshConnections?: boolean;
  /** PEM: client certificate (chain) and its key (none: no client certificate), and the server's CA bundle. */
  tls: { cert?: string; key?: string; ca: string };
  /** Called just before the measured window opens and just after it closes (the server's CPU snapshot). */
  onWindowStart(): Promise<void>;
  onWindowEnd(): Promise<void>;
  /** Checked once on a probe request before the load starts; throw to abort the run. */
  checkProbe?(status: number, body: string): void;
}

export interface LoadResult {
  /** Requests completed inside the measured window, 200 or not. */
  completed: number;
  ok: number;
  errors: number;
  errorRate: number;
  /** The first failure seen, for the report. */
  firstError: string | undefined;
  windowMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connections opened inside the measured window (0 when keep-alive holds: no handshake was measured). */
  newConnections: number;
  /** This process's CPU time (the load generator) per completed request, in µs. */
  clientCpuUsPerRequest: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e.code === 'string' ? `${e.code}: ` : ''}${String(e.message ?? err)}`;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    connect: {
      ...(options.tls.cert !== undefined
        ? { cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca }
        : { ca: options.tls.ca }),
      ...(options.freshConnections ? { maxCachedSessions: 0 } : {}),
    },
  });
  try {
    const request = {
      path: options.path,
      method: options.method ?? ('GET' as const),
      headers: options.freshConnections ? { ...options.headers, connection: 'close' } : options.headers,
      ...(options.body !== undefined ? { body: options.body } : {}),
    };
    const perRequest = options.perRequestHeaders;
    const next = async () =>
      perRequest === undefined
        ? request
        : { ...request, headers: { ...options.headers, ...(await perRequest()) } };
    const probe = await pool.request(await next());
    const probeBody = await probe.body.text();
    if (probe.statusCode !== 200) {
      throw new Error(`probe request answered ${probe.statusCode}: ${probeBody.slice(0, 300)}`);
    }
    options.checkProbe?.(probe.statusCode, probeBody);

    let stopped = false;
    let recording = false;
    let windowStart = 0n;
    let windowEnd = 0n;
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    let newConnections = 0;
    pool.on('connect', () => {
      if (recording) newConnections++;
    });
    let samples = new Float64Array(1 << 16);
    let count = 0;

    const worker = async () => {
      while (!stopped) {
        const t0 = process.hrtime.bigint();
        let failure: string | undefined;
        try {
          const res = await pool.request(perRequest === undefined ? request : await next());
          await res.body.dump();
          if (res.statusCode !== 200) failure = `HTTP ${res.statusCode}`;
        } catch (err) {
          failure = describe(err);
        }
        const t1 = process.hrtime.bigint();
        if (!recording || t1 < windowStart) continue;
        if (failure !== undefined) {
          errors++;
          firstError ??= failure;
          continue;
        }
        ok++;
        if (count === samples.length) {
          const grown = new Float64Array(samples.length * 2);
          grown.set(samples);
          samples = grown;
        }
        samples[count++] = Number(t1 - t0) / 1e6;
      }
    };

    const workers = Array.from({ length: options.connections }, worker);
    let cpu: NodeJS.CpuUsage;
    try {
      await sleep(options.warmupMs);
      await options.onWindowStart();
      const cpu0 = process.cpuUsage();
      windowStart = process.hrtime.bigint();
      recording = true;
      await sleep(options.durationMs);
      recording = false;
      windowEnd = process.hrtime.bigint();
      cpu = process.cpuUsage(cpu0);
      await options.onWindowEnd();
    } finally {
      // On failure the pool is destroyed below, which ends the requests still in flight.
      stopped = true;
      recording = false;
    }
    await Promise.all(workers);

    const windowMs = Number(windowEnd - windowStart) / 1e6;
    const sorted = samples.subarray(0, count).sort();
    const completed = ok + errors;
    return {
      completed,
      ok,
      errors,
      errorRate: completed === 0 ? 1 : errors / completed,
      firstError,
      newConnections,
      windowMs,
      rps: (ok * 1000) / windowMs,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      clientCpuUsPerRequest: completed === 0 ? Number.NaN : (cpu.user + cpu.system) / completed,
    };
  } finally {
    await pool.destroy();
  }
}
