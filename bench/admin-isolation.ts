// `bench admin-isolation` (issue 16): does administration stall enforcement? The gateway's p50/p99 under a
// steady load, alone and while an operator walks every page of a 100,000-application listing and runs a bulk
// import against the same process (the embedded default), in paired rounds. Informational: it never fails
// on a figure, only when the run itself breaks.
import { Worker } from 'node:worker_threads';
import type { ChildMessage, Material, ParentMessage } from './admin-isolation-protocol.ts';
import { ChildRpc } from './child-rpc.ts';
import { type LoadResult, median, runLoad } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- admin-isolation [options]
       node bench/admin-isolation.ts [options]

Starts the whole platform in one child process (the embedded default: gateway, admin API, authorization
server and SQLite share one event loop), seeds N applications, and measures the gateway's latency
(GET /v1/accounts with a certificate-bound token over mTLS, keep-alive connections, one request in flight
each) in paired rounds of two windows, in alternating order:
  quiet  the gateway load alone
  busy   the same load while a worker thread walks every page of GET /admin/v1/applications, again and
         again (each walk followed by the operator overview and an access review: its summary, role
         holders and every page of the clients without traffic), and POSTs a bulk import (NDJSON,
         --import-orgs organisations of 5 applications each)
Reported: p50/p99 of each window, the median over the rounds, and the median of each round's busy/quiet p99
ratio (the target: ≤ 2).

Options:
  --applications <n>   applications in the directory (default 100000)
  --page-limit <n>     ?limit= of the listing walk (default 1000)
  --import-orgs <n>    organisations per import (default 20; 0: no import)
  --rounds <n>         paired rounds (default 16)
  --connections <n>    gateway connections (default 8)
  --duration <s>       measured seconds per window (default 3)
  --warmup <s>         unmeasured seconds before each window (default 0.5)
  --postgres <url>     run the platform on PostgreSQL instead of SQLite
  --json               print the result as JSON on stdout
  -h, --help           show this help

Exit code 0 whatever the figures; 1 when the run broke (a server failed, or more than 1% of the gateway
requests did not answer 200); 2 on bad options.
`;

const MAX_ERROR_RATE = 0.01;
const TARGET_P99_RATIO = 2;

interface Options {
  applications: number;
  pageLimit: number;
  importOrgs: number;
  rounds: number;
  connections: number;
  durationS: number;
  warmupS: number;
  postgresUrl: string | undefined;
  json: boolean;
}

interface WalkStats {
  pages: number;
  walks: number;
  rows: number;
  imports: number;
  importMs: number;
  /** Overview + access reviews (summary, role holders, every page of the inactive clients) after each walk. */
  reviews: number;
  errors: number;
  firstError: string;
}

interface Window {
  round: number;
  mode: 'quiet' | 'busy';
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  admin?: WalkStats;
}

export interface AdminIsolationResult {
  options: Omit<Options, 'json' | 'postgresUrl'> & { engine: 'sqlite' | 'postgres' };
  quiet: { p50Ms: number; p99Ms: number; rps: number };
  busy: { p50Ms: number; p99Ms: number; rps: number; pagesPerS: number; rowsListed: number; imports: number };
  p99Ratio: { median: number; min: number; max: number; target: number; status: 'met' | 'missed' };
  windows: Window[];
}

function parseOptions(argv: string[]): Options | 'help' {
  const v = parseBenchArgs(argv, {
    applications: { type: 'string' },
    'page-limit': { type: 'string' },
    'import-orgs': { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    postgres: { type: 'string' },
  });
  if (v.help) return 'help';
  const pageLimit = number('page-limit', v['page-limit'], 1000, 1, true);
  if (pageLimit > 1000) throw new UsageError('--page-limit: at most 1000 (the API maximum)');
  return {
    applications: number('applications', v.applications, 100_000, 0, true),
    pageLimit,
    importOrgs: number('import-orgs', v['import-orgs'], 20, 0, true),
    rounds: number('rounds', v.rounds, 16, 1, true),
    connections: number('connections', v.connections, 8, 1, true),
    durationS: number('duration', v.duration, 3, 0.5, false),
    warmupS: number('warmup', v.warmup, 0.5, 0, false),
    postgresUrl: v.postgres,
    json: v.json ?? false,
  };
}

async function run(options: Options): Promise<AdminIsolationResult> {
  const progress = progressOf('admin-isolation');
  const server = new ChildRpc<ParentMessage, ChildMessage>(
    new URL('./admin-isolation-server.ts', import.meta.url),
    {
      label: 'platform process',
    },
  );
  let walker: Worker | undefined;
  try {
    progress(`starting the platform and seeding ${options.applications} applications`);
    const { material } = await server.call(
      { type: 'start', applications: options.applications, postgresUrl: options.postgresUrl },
      'started',
      600_000,
    );
    const w = new Worker(new URL('./admin-isolation-walker.ts', import.meta.url), {
      workerData: { material, pageLimit: options.pageLimit, importOrganisations: options.importOrgs },
    });
    walker = w;
    const walkerStats = () =>
      new Promise<WalkStats>((resolve) => {
        const on = (m: { type: string; stats: WalkStats }) => {
          if (m.type !== 'stats') return;
          w.off('message', on);
          resolve(m.stats);
        };
        w.on('message', on);
        w.postMessage({ type: 'stop' });
      });

    const windows: Window[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const order: Array<'quiet' | 'busy'> = round % 2 === 1 ? ['quiet', 'busy'] : ['busy', 'quiet'];
      for (const mode of order) {
        if (mode === 'busy') w.postMessage({ type: 'go', round });
        const load = await gatewayLoad(material, options);
        const admin = mode === 'busy' ? await walkerStats() : undefined;
        if (load.errorRate > MAX_ERROR_RATE) {
          throw new Error(
            `${mode}: ${load.errors} of ${load.completed} gateway requests failed; first: ${load.firstError}`,
          );
        }
        if (admin?.errors)
          throw new Error(`administration failed during round ${round}: ${admin.firstError}`);
        windows.push({
          round,
          mode,
          rps: load.rps,
          p50Ms: load.p50Ms,
          p99Ms: load.p99Ms,
          requests: load.completed,
          errors: load.errors,
          ...(admin ? { admin } : {}),
        });
        progress(
          `round ${round}/${options.rounds} ${mode.padEnd(5)} p50 ${load.p50Ms.toFixed(2)} ms p99 ${load.p99Ms.toFixed(2)} ms ${load.rps.toFixed(0)} req/s` +
            (admin
              ? ` | listed ${admin.rows} rows in ${admin.pages} pages, ${admin.reviews} review(s), ${admin.imports} import(s)`
              : ''),
        );
      }
    }
    const of = (mode: 'quiet' | 'busy') => windows.filter((x) => x.mode === mode);
    const ratios = Array.from({ length: options.rounds }, (_, i) => {
      const quiet = of('quiet')[i] as Window;
      const busy = of('busy')[i] as Window;
      return busy.p99Ms / quiet.p99Ms;
    });
    const busy = of('busy');
    const busySeconds = busy.length * (options.durationS + options.warmupS);
    const ratio = median(ratios);
    return {
      options: {
        applications: options.applications,
        pageLimit: options.pageLimit,
        importOrgs: options.importOrgs,
        rounds: options.rounds,
        connections: options.connections,
        durationS: options.durationS,
        warmupS: options.warmupS,
        engine: options.postgresUrl ? 'postgres' : 'sqlite',
      },
      quiet: {
        p50Ms: median(of('quiet').map((x) => x.p50Ms)),
        p99Ms: median(of('quiet').map((x) => x.p99Ms)),
        rps: median(of('quiet').map((x) => x.rps)),
      },
      busy: {
        p50Ms: median(busy.map((x) => x.p50Ms)),
        p99Ms: median(busy.map((x) => x.p99Ms)),
        rps: median(busy.map((x) => x.rps)),
        pagesPerS: busy.reduce((n, x) => n + (x.admin?.pages ?? 0), 0) / busySeconds,
        rowsListed: busy.reduce((n, x) => n + (x.admin?.rows ?? 0), 0),
        imports: busy.reduce((n, x) => n + (x.admin?.imports ?? 0), 0),
      },
      p99Ratio: {
        median: ratio,
        min: Math.min(...ratios),
        max: Math.max(...ratios),
        target: TARGET_P99_RATIO,
        status: ratio <= TARGET_P99_RATIO ? 'met' : 'missed',
      },
      windows,
    };
  } finally {
    await walker?.terminate();
    await server.stop();
  }
}

function gatewayLoad(material: Material, options: Options): Promise<LoadResult> {
  return runLoad({
    origin: material.gatewayOrigin,
    path: material.gatewayPath,
    headers: { authorization: `Bearer ${material.accessToken}`, accept: 'application/json' },
    connections: options.connections,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    tls: { cert: material.clientCert, key: material.clientKey, ca: material.caPem },
    async onWindowStart() {},
    async onWindowEnd() {},
    checkProbe(status, body) {
      if (status !== 200) throw new Error(`the gateway answered ${status}: ${body.slice(0, 300)}`);
    },
  });
}

function format(r: AdminIsolationResult): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  return `${[
    `admin isolation: ${r.options.applications} applications (${r.options.engine}), listing pages of ${r.options.pageLimit}, imports of ${r.options.importOrgs} organisations, ${r.options.rounds} paired rounds of ${r.options.durationS} s`,
    `  quiet  p50 ${f(r.quiet.p50Ms)} ms  p99 ${f(r.quiet.p99Ms)} ms  ${f(r.quiet.rps, 0)} req/s`,
    `  busy   p50 ${f(r.busy.p50Ms)} ms  p99 ${f(r.busy.p99Ms)} ms  ${f(r.busy.rps, 0)} req/s  (admin: ${f(r.busy.pagesPerS, 1)} pages/s, ${r.busy.rowsListed} rows listed, ${r.busy.imports} imports)`,
    `  p99 busy/quiet: median ${f(r.p99Ratio.median)} (range ${f(r.p99Ratio.min)}–${f(r.p99Ratio.max)}), target ≤ ${r.p99Ratio.target}: ${r.p99Ratio.status}`,
  ].join('\n')}\n`;
}

/** Entry point shared by `node bench/admin-isolation.ts` and `bench/run.ts admin-isolation`. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, { name: 'admin-isolation', help: HELP, parse: parseOptions, run, format });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
