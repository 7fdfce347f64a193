// `bench federation`: operations/s, latency and CPU per operation of trust chain resolution (a hot path of
// registration and of every federation request) against the pure cryptographic floor of the same chain, measured
// in the same run. Informational only: it never fails on a figure, only when the run itself breaks.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { cpus } from 'node:os';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import {
  createFederationFetcher,
  createTrustChainResolver,
  ENTITY_CONFIGURATION_PATH,
  type EntityStatementClaims,
  type FederationFetcher,
  MEDIA_TYPES,
  type ResolveResult,
  type TrustChainResolver,
  verifyEntityStatement,
} from '../src/federation/index.ts';
import { ChildRpc } from './child-rpc.ts';
import type { ChildMessage, FederationLayout, ParentMessage } from './federation-protocol.ts';
import { percentile } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- federation [options]
       node bench/federation.ts [options]

Measures trust chain resolution with the real resolver (createTrustChainResolver + createFederationFetcher)
against a live three-level federation on 127.0.0.1: Trust Anchor → Intermediate → leaf, each entity its own
HTTPS server. The Trust Anchor's and the Intermediate's Subordinate Statements carry a metadata_policy; the
leaf holds a Trust Mark issued by the Intermediate, accepted by the Trust Anchor, with a status endpoint.
A sibling leaf without Trust Marks shows what they cost. The chain has 4 statements (leaf EC, 2 Subordinate
Statements, Trust Anchor EC).

Cases, each measured with its own resolver and fetcher (keep-alive connections opened during warm-up):
  baseline       the cryptographic floor: verifyEntityStatement on each of the chain's 4 statements with
                 the keys already in hand, no network, no resolver
  fetch          the network floor: the 5 HTTPS GETs a resolution of the bare leaf makes (its EC, the
                 Intermediate's EC and statement about it, the Trust Anchor's EC and statement about the
                 Intermediate), sequential, through the same fetcher, nothing verified
  cold           resolve(leaf, { forceRefresh: true }): every statement fetched over HTTPS and validated,
                 policies combined and applied, the Trust Mark verified (issuer chain, status endpoint)
  cold-bare      the same for the leaf without Trust Marks
  warm           resolve(leaf) answered from the resolver's cache
  validate       validateChain(chain) of the leaf's supplied chain (explicit registration with
                 application/trust-chain+json); its Trust Mark status is asked over HTTPS on every call
  validate-bare  validateChain(chain) of the bare leaf's chain: no network at all

One operation is in flight at a time, so latency is the operation's own. CPU per operation is this process's
process.cpuUsage() over the measured window divided by the operations completed: the resolver, the fetcher's
client side of TLS/HTTP and the loop. The federation's servers run in a child process (forked with IPC), so
their CPU is not counted there; it is reported apart ("servers µs/op") and is the test topology's, which signs
every statement on request. Signature verifications and key imports per operation are counted on one
unmeasured operation per case, after a first one has filled what the case keeps cached
(crypto.subtle.verify / importKey calls, which jose makes once per verification and key import).

Options:
  --duration <s>      measured seconds per case (default 3)
  --iterations <n>    measure exactly n operations per case instead of a duration
                      (not with --duration)
  --warmup <s>        unmeasured seconds before each measurement, after two probe operations (default 1)
  --json              print the result as JSON on stdout
  -h, --help          show this help

Progress goes to stderr. The exit code is 0 whatever the figures; 1 when the run broke (the federation did
not start, or more than 1% of the operations failed), 2 on bad options.
`;

const MAX_ERROR_RATE = 0.01;
/** PERFORMANCE.md, Federation: "A three-level chain costs ~0.7 ms of CPU". */
const DOCUMENTED_CHAIN_CPU_US = 700;

export interface FederationBenchOptions {
  durationS: number;
  iterations: number | undefined;
  warmupS: number;
  json: boolean;
}

export const CASES = ['baseline', 'fetch', 'cold', 'cold-bare', 'warm', 'validate', 'validate-bare'] as const;
export type CaseName = (typeof CASES)[number];

export interface CaseResult {
  name: CaseName;
  operations: number;
  errors: number;
  firstError: string | null;
  windowMs: number;
  opsPerS: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU (user + system) per operation, in µs. */
  cpuUsPerOp: number;
  /** The servers' child process CPU per operation, in µs (the test topology signs on every request). */
  serverCpuUsPerOp: number;
  /** HTTPS requests the federation answered per operation. */
  requestsPerOp: number;
  /** TLS connections opened during the measured window (0: every request rode a kept-alive connection). */
  newConnections: number;
  /** crypto.subtle.verify calls in one unmeasured operation. */
  signatureVerifications: number;
  /** crypto.subtle.importKey calls in one unmeasured operation. */
  keyImports: number;
}

export interface FederationBenchResult {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<FederationBenchOptions, 'json'>;
  chainLength: number;
  cases: CaseResult[];
  ratios: {
    /** cold CPU/op ÷ baseline CPU/op. */
    coldVsBaselineCpu: number;
    coldBareVsBaselineCpu: number;
    validateVsBaselineCpu: number;
    validateBareVsBaselineCpu: number;
    /** warm ops/s ÷ cold ops/s. */
    warmVsColdThroughput: number;
    /** cold CPU/op ÷ warm CPU/op. */
    coldVsWarmCpu: number;
  };
  /** cold-bare CPU/op split: the HTTPS fetches alone, and the rest (verification, policy, bookkeeping), µs. */
  coldBareBreakdown: { fetchesUs: number; restUs: number };
  /** CPU the Trust Mark adds to a cold resolution (cold − cold-bare), µs. */
  trustMarkCpuUs: number;
  documentedChainCpuUs: number;
}

const progress = progressOf('federation');

export function parseOptions(argv: string[]): FederationBenchOptions | 'help' {
  const v = parseBenchArgs(argv, {
    duration: { type: 'string' },
    iterations: { type: 'string' },
    warmup: { type: 'string' },
  });
  if (v.help) return 'help';
  if (v.iterations !== undefined && v.duration !== undefined) {
    throw new UsageError('--iterations and --duration exclude each other');
  }
  return {
    durationS: number('duration', v.duration, 3, 0.1, false),
    iterations: v.iterations === undefined ? undefined : number('iterations', v.iterations, 0, 1, true),
    warmupS: number('warmup', v.warmup, 1, 0, false),
    json: v.json,
  };
}

/** The child process serving the federation; it announces its layout once ready. */
type ServerProcess = ChildRpc<ParentMessage, ChildMessage>;

/** Counts crypto.subtle.verify and importKey calls (jose's webapi build calls them per use) during `fn`. */
async function countCrypto(fn: () => Promise<void>): Promise<{ verifications: number; imports: number }> {
  const subtle = globalThis.crypto.subtle;
  const counts = { verifications: 0, imports: 0 };
  const saved = {
    verify: Object.getOwnPropertyDescriptor(subtle, 'verify'),
    importKey: Object.getOwnPropertyDescriptor(subtle, 'importKey'),
  };
  type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;
  const counting = (original: Method, count: () => void): PropertyDescriptor => ({
    configurable: true,
    writable: true,
    value(this: unknown, ...args: unknown[]) {
      count();
      return original.apply(this, args);
    },
  });
  Object.defineProperty(
    subtle,
    'verify',
    counting(subtle.verify as unknown as Method, () => counts.verifications++),
  );
  Object.defineProperty(
    subtle,
    'importKey',
    counting(subtle.importKey as unknown as Method, () => counts.imports++),
  );
  try {
    await fn();
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(subtle, name, descriptor);
      else Reflect.deleteProperty(subtle, name);
    }
  }
  return counts;
}

interface Instance {
  op(): Promise<void>;
  close(): Promise<void>;
}

interface Reference {
  /** The leaf's chain as the resolver returned it (leaf EC, 2 Subordinate Statements, Trust Anchor EC). */
  leafChain: string[];
  bareChain: string[];
  /** The URLs a resolution of the bare leaf fetches, in order. */
  bareUrls: string[];
}

function describeFailure(result: ResolveResult): string {
  const f = result.findings[0];
  return f ? `${f.code} (${f.step}): ${f.message}` : 'no finding';
}

/** Throws unless the result is a valid chain with no findings and `marks` verified Trust Marks. */
function expectResolved(result: ResolveResult, marks: number): void {
  if (!result.ok || result.findings.length > 0) throw new Error(describeFailure(result));
  if (result.entity.trustMarks.length !== marks) {
    throw new Error(`expected ${marks} verified Trust Mark(s), got ${result.entity.trustMarks.length}`);
  }
}

function createResolver(layout: FederationLayout): {
  resolver: TrustChainResolver;
  fetcher: FederationFetcher;
} {
  const fetcher = createFederationFetcher({ allowLoopback: true, ca: layout.caPem });
  const resolver = createTrustChainResolver({
    trustAnchors: [layout.trustAnchor],
    fetcher,
    clock: () => new Date(),
  });
  return { resolver, fetcher };
}

function setupCase(name: CaseName, layout: FederationLayout, reference: Reference): Instance {
  if (name === 'baseline') {
    const chain = reference.leafChain;
    const claims = chain.map((jwt) => decodeJwt(jwt) as EntityStatementClaims);
    const last = chain.length - 1;
    // ES[0] with its own keys, ES[j] with the keys ES[j+1] states for its issuer, ES[last] with the configured ones.
    const keys: JSONWebKeySet[] = chain.map((_, j) =>
      j === 0
        ? claims[0]!.jwks!
        : j === last
          ? structuredClone(layout.trustAnchor.jwks)
          : claims[j + 1]!.jwks!,
    );
    return {
      async op() {
        const now = new Date();
        for (let j = 0; j <= last; j++) {
          await verifyEntityStatement(chain[j]!, keys[j]!, { now, clockSkewSeconds: 30 });
        }
      },
      async close() {},
    };
  }
  const { resolver, fetcher } = createResolver(layout);
  const close = () => fetcher.close();
  switch (name) {
    case 'fetch':
      return {
        async op() {
          for (const url of reference.bareUrls) {
            await fetcher.fetch({ url, accept: MEDIA_TYPES.entityStatement });
          }
        },
        close,
      };
    case 'cold':
      return {
        op: async () => expectResolved(await resolver.resolve(layout.leaf, { forceRefresh: true }), 1),
        close,
      };
    case 'cold-bare':
      return {
        op: async () => expectResolved(await resolver.resolve(layout.bareLeaf, { forceRefresh: true }), 0),
        close,
      };
    case 'warm':
      return { op: async () => expectResolved(await resolver.resolve(layout.leaf), 1), close };
    case 'validate':
      return {
        op: async () => expectResolved(await resolver.validateChain(reference.leafChain), 1),
        close,
      };
    case 'validate-bare':
      return {
        op: async () => expectResolved(await resolver.validateChain(reference.bareChain), 0),
        close,
      };
  }
}

/** Resolves both leaves once with a throw-away resolver: checks the federation works and yields the chains. */
async function reference(layout: FederationLayout): Promise<Reference> {
  const { resolver, fetcher } = createResolver(layout);
  try {
    const leaf = await resolver.resolve(layout.leaf);
    expectResolved(leaf, 1);
    const bare = await resolver.resolve(layout.bareLeaf);
    expectResolved(bare, 0);
    if (!leaf.ok || !bare.ok) throw new Error('unreachable');
    const rp = leaf.entity.metadata.openid_relying_party ?? {};
    // Both policies applied: the Trust Anchor's contact added first, the Intermediate's default filled in.
    if (
      !Array.isArray(rp.contacts) ||
      rp.contacts.length !== 2 ||
      rp.subject_type !== 'pairwise' ||
      rp.id_token_signed_response_alg !== 'ES256'
    ) {
      throw new Error(`the metadata policies were not applied: ${JSON.stringify(rp)}`);
    }
    // [leaf EC, SS Intermediate→leaf, SS TA→Intermediate, TA EC]: the URLs collection fetches, in its order.
    const [, toLeaf, toIntermediate] = bare.entity.statements;
    const statementUrl = (s: EntityStatementClaims | undefined) => {
      if (typeof s?.source_endpoint !== 'string')
        throw new Error('a Subordinate Statement has no source_endpoint');
      const url = new URL(s.source_endpoint);
      url.searchParams.set('sub', s.sub);
      return url.href;
    };
    const bareUrls = [
      `${layout.bareLeaf}${ENTITY_CONFIGURATION_PATH}`,
      `${layout.intermediate}${ENTITY_CONFIGURATION_PATH}`,
      statementUrl(toLeaf),
      `${layout.trustAnchor.entityId}${ENTITY_CONFIGURATION_PATH}`,
      statementUrl(toIntermediate),
    ];
    return { leafChain: leaf.entity.trustChain, bareChain: bare.entity.trustChain, bareUrls };
  } finally {
    await fetcher.close();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function measure(
  name: CaseName,
  layout: FederationLayout,
  ref: Reference,
  server: ServerProcess,
  options: FederationBenchOptions,
): Promise<CaseResult> {
  const label = name.padEnd(13);
  const instance = setupCase(name, layout, ref);
  try {
    // A probe operation opens the connections and fills what the case keeps cached; the next is counted.
    await instance.op();
    const census = await countCrypto(() => instance.op());
    const warmupEnd = performance.now() + options.warmupS * 1000;
    while (performance.now() < warmupEnd) await instance.op();

    let samples = new Float64Array(1 << 14);
    let count = 0;
    let errors = 0;
    let firstError: string | undefined;
    let newConnections = 0;
    const onConnect = () => {
      newConnections++;
    };
    const limit = options.iterations;
    const durationMs = options.durationS * 1000;
    progress(
      `${label} measuring ${limit === undefined ? `${options.durationS} s` : `${limit} operations`} ` +
        `(after ${options.warmupS} s warm-up)`,
    );
    await server.call({ type: 'measure-start' }, 'measuring');
    subscribe('undici:client:connected', onConnect);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let now = start;
    while (limit === undefined ? now - start < durationMs : count + errors < limit) {
      const t0 = now;
      try {
        await instance.op();
        now = performance.now();
        if (count === samples.length) {
          const grown = new Float64Array(samples.length * 2);
          grown.set(samples);
          samples = grown;
        }
        samples[count++] = now - t0;
      } catch (err) {
        now = performance.now();
        errors++;
        firstError ??= describe(err);
      }
    }
    const windowMs = now - start;
    const cpu = process.cpuUsage(cpu0);
    unsubscribe('undici:client:connected', onConnect);
    const stats = await server.call({ type: 'measure-stop' }, 'stats');

    const operations = count + errors;
    if (operations === 0 || errors / operations > MAX_ERROR_RATE) {
      throw new Error(`${name}: ${errors} of ${operations} operations failed; first: ${firstError}`);
    }
    const sorted = samples.subarray(0, count).sort();
    let sum = 0;
    for (const s of sorted) sum += s;
    const result: CaseResult = {
      name,
      operations,
      errors,
      firstError: firstError ?? null,
      windowMs,
      opsPerS: (count * 1000) / windowMs,
      meanMs: sum / count,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      cpuUsPerOp: (cpu.user + cpu.system) / operations,
      serverCpuUsPerOp: (stats.userUs + stats.systemUs) / operations,
      requestsPerOp: stats.requests / operations,
      newConnections,
      signatureVerifications: census.verifications,
      keyImports: census.imports,
    };
    progress(
      `${label} ${fmt(result.opsPerS, 0)} ops/s  mean ${fmt(result.meanMs, 3)} ms  p99 ${fmt(result.p99Ms, 3)} ms  ` +
        `CPU ${fmt(result.cpuUsPerOp, 0)} µs/op  (${operations} operations, ${errors} errors)`,
    );
    return result;
  } finally {
    await instance.close();
  }
}

export async function runFederationBench(options: FederationBenchOptions): Promise<FederationBenchResult> {
  progress('starting the federation (Trust Anchor, Intermediate, 2 leaves) in a child process');
  const server: ServerProcess = new ChildRpc(new URL('./federation-server.ts', import.meta.url), {
    label: 'server process',
  });
  try {
    const { type: _type, ...layout } = await server.await('ready');
    progress(`Trust Anchor ${layout.trustAnchor.entityId}, leaf ${layout.leaf}; checking a resolution`);
    const ref = await reference(layout);
    const cases: CaseResult[] = [];
    for (const name of CASES) cases.push(await measure(name, layout, ref, server, options));
    const by = (n: CaseName) => cases.find((c) => c.name === n)!;
    const baseline = by('baseline');
    const cold = by('cold');
    const coldBare = by('cold-bare');
    const warm = by('warm');
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      chainLength: ref.leafChain.length,
      cases,
      ratios: {
        coldVsBaselineCpu: cold.cpuUsPerOp / baseline.cpuUsPerOp,
        coldBareVsBaselineCpu: coldBare.cpuUsPerOp / baseline.cpuUsPerOp,
        validateVsBaselineCpu: by('validate').cpuUsPerOp / baseline.cpuUsPerOp,
        validateBareVsBaselineCpu: by('validate-bare').cpuUsPerOp / baseline.cpuUsPerOp,
        warmVsColdThroughput: warm.opsPerS / cold.opsPerS,
        coldVsWarmCpu: cold.cpuUsPerOp / warm.cpuUsPerOp,
      },
      coldBareBreakdown: {
        fetchesUs: by('fetch').cpuUsPerOp,
        restUs: coldBare.cpuUsPerOp - by('fetch').cpuUsPerOp,
      },
      trustMarkCpuUs: cold.cpuUsPerOp - coldBare.cpuUsPerOp,
      documentedChainCpuUs: DOCUMENTED_CHAIN_CPU_US,
    };
  } finally {
    await server.stop();
  }
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

export function formatResult(result: FederationBenchResult): string {
  const o = result.options;
  const r = result.ratios;
  const by = (n: CaseName) => result.cases.find((c) => c.name === n)!;
  const window =
    o.iterations === undefined ? `${o.durationS} s measured` : `${o.iterations} operations measured`;
  const lines = [
    `Node ${result.node}, ${result.cpus} CPUs (${result.cpuModel})`,
    `3-level federation (${result.chainLength} statements per chain), servers in a child process; ` +
      `one operation in flight; ${o.warmupS} s warm-up + ${window} per case`,
    '',
    table([
      [
        'case',
        'ops/s',
        'mean ms',
        'p50 ms',
        'p99 ms',
        'CPU µs/op',
        'servers µs/op',
        'HTTPS/op',
        'verifies/op',
        'key imports/op',
        'new conns',
      ],
      ...result.cases.map((c) => [
        c.name,
        fmt(c.opsPerS, 0),
        fmt(c.meanMs, 3),
        fmt(c.p50Ms, 3),
        fmt(c.p99Ms, 3),
        fmt(c.cpuUsPerOp, 0),
        fmt(c.serverCpuUsPerOp, 0),
        fmt(c.requestsPerOp, 1),
        String(c.signatureVerifications),
        String(c.keyImports),
        String(c.newConnections),
      ]),
    ]),
    '',
    `cold / baseline CPU: ×${fmt(r.coldVsBaselineCpu, 2)} with the Trust Mark, ×${fmt(r.coldBareVsBaselineCpu, 2)} without ` +
      `(the Trust Mark adds ${fmt(result.trustMarkCpuUs, 0)} µs/op)`,
    `cold-bare CPU: ${fmt(result.coldBareBreakdown.fetchesUs, 0)} µs its 5 HTTPS fetches (the fetch case) + ` +
      `${fmt(result.coldBareBreakdown.restUs, 0)} µs verification, policy and bookkeeping ` +
      `(the baseline verifies the chain in ${fmt(by('baseline').cpuUsPerOp, 0)} µs)`,
    `validateChain / baseline CPU: ×${fmt(r.validateVsBaselineCpu, 2)} with the Trust Mark, ×${fmt(r.validateBareVsBaselineCpu, 2)} without`,
    `warm vs cold: throughput ×${fmt(r.warmVsColdThroughput, 1)}, CPU per op ÷${fmt(r.coldVsWarmCpu, 1)}`,
    `PERFORMANCE.md puts a three-level chain at ~${result.documentedChainCpuUs} µs of CPU; cold without Trust Marks ` +
      `measured ${fmt(by('cold-bare').cpuUsPerOp, 0)} µs/op here (client side of TLS/HTTP included)`,
    '',
    'CPU µs/op is this process (resolver, fetcher, loop); servers µs/op is the child process serving the',
    'federation, which signs every statement on request. verifies/op and key imports/op: crypto.subtle calls',
    'in one unmeasured operation (after a first one).',
  ];
  return `${lines.join('\n')}\n`;
}

/** Entry point shared by `node bench/federation.ts` and `bench/run.ts federation`; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'federation',
    help: HELP,
    parse: parseOptions,
    run: runFederationBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
