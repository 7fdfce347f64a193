// `bench ocsp`: OCSP responses per second from the responder (a cached answer, and a nonce request signed
// fresh) against a bare sign-and-respond baseline (the same key signing the same ASN.1 response, no parsing,
// no lookup), measured in the same run, in paired rounds. Informational only: it never fails on a figure.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createApplication, createOrganisation, seedCatalog } from '../src/directory/index.ts';
import {
  CertificateAuthority,
  createCsr,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  storeCertificateAuthorities,
} from '../src/pki/index.ts';
import {
  buildOcspResponse,
  ensureResponder,
  loadOcspAuthorities,
  OCSP_OIDS,
  OcspResponder,
  parseOcspRequest,
  type ResponderKey,
} from '../src/pki/ocsp/index.ts';
import { x509 } from '../src/pki/x509.ts';
import { openStorage, type Storage } from '../src/storage/index.ts';
import { median } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand } from './options.ts';

const HELP = `Usage: npm run bench -- ocsp [options]
       node bench/ocsp.ts [options]

Measures OCSP responses per second and CPU time per response, in this process, for one partner certificate
of a freshly created CA (P-256) on SQLite:
  baseline   a bare sign-and-respond: the responder's own key signs the same BasicOCSPResponse (the same
             CertID, status good, thisUpdate/nextUpdate) once per response; no parsing, no lookup, no cache
  cached     OcspResponder.respond() on a DER request without nonce: a cache hit on the request's bytes
  nonce      OcspResponder.respond() on DER requests with 16-octet nonces (a pool of 256 built beforehand;
             nonce requests are never cached): parse, CertID match, status lookup in the database, a new
             signature
Each round measures every mode once (order alternating forward and reversed); ratios are the median of each
round's mode/baseline ratio. Concurrency is a closed loop of --concurrency callers.

Options:
  --duration <s>      measured seconds per mode and round (default 1)
  --warmup <s>        unmeasured seconds before each measurement (default 0.2)
  --rounds <n>        paired rounds (default 16)
  --concurrency <n>   requests in flight (default 8)
  --json              print the result as JSON on stdout
  -h, --help          show this help
`;

const MODES = ['baseline', 'cached', 'nonce'] as const;
const YIELD_EVERY = 16;
type Mode = (typeof MODES)[number];

interface Options {
  durationS: number;
  warmupS: number;
  rounds: number;
  concurrency: number;
  json: boolean;
}

interface Measurement {
  round: number;
  mode: Mode;
  rps: number;
  cpuUsPerResponse: number;
  responses: number;
}

interface Result {
  node: string;
  cpus: number;
  cpuModel: string;
  options: Omit<Options, 'json'>;
  summary: Array<{ mode: Mode; rps: number; cpuUsPerResponse: number; ratioToBaseline: number }>;
  measurements: Measurement[];
}

const progress = progressOf('ocsp');

function parseOptions(argv: string[]): Options | 'help' {
  const v = parseBenchArgs(argv, {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
  });
  if (v.help) return 'help';
  return {
    durationS: number('duration', v.duration, 1, 0.1, false),
    warmupS: number('warmup', v.warmup, 0.2, 0, false),
    rounds: number('rounds', v.rounds, 16, 1, true),
    concurrency: number('concurrency', v.concurrency, 8, 1, true),
    json: v.json ?? false,
  };
}

interface Fixture {
  storage: Storage;
  dir: string;
  responder: OcspResponder;
  plainRequest: Buffer;
  nonceRequest(): Buffer;
  baseline(): Buffer;
}

async function createFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-bench-ocsp-'));
  const storage = await openStorage({ url: join(dir, 'accredit.db'), schema: undefined });
  const kek = 'bench-key-encryption-key';
  const now = new Date();
  const root = await createRootCa({ commonName: 'Bench Root', now });
  const issuing = await createIssuingCa({ parent: root, commonName: 'Bench Issuing', now });
  const meta = { actor: 'bench', now };
  const settings = {
    partnerCertDays: 30,
    crlValidityHours: 24,
    crlUrl: 'http://localhost/pki/issuing-ca.crl',
  };
  const partnerKeys = generateKeyPair('ES256');
  const csrPem = await createCsr(partnerKeys);
  const cert = await storage.transaction(async (tx) => {
    await seedCatalog(tx);
    await storeCertificateAuthorities(tx, { root, issuing }, kek, now);
    const orgId = await createOrganisation(tx, { name: 'Bench Bank' }, meta);
    const clientId = await createApplication(
      tx,
      { orgId, name: 'Payments', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      meta,
    );
    const ca = await CertificateAuthority.load(tx.db, kek, settings);
    return ca.issue(tx, { clientId, csrPem }, meta);
  });
  const responder = new OcspResponder({
    storage,
    kek,
    clock: () => new Date(),
    responderDays: 7,
    validityMinutes: 60,
    keyAlgorithm: 'ES256',
  });
  await responder.renewResponders();
  // The request a relying party sends: a SHA-1 CertID of the partner certificate (RFC 6960 §4.1.1).
  const issuerCert = new x509.X509Certificate(issuing.certDer);
  const spki = asn1js.fromBER(issuerCert.publicKey.rawData).result as asn1js.Sequence;
  const keyBits = (spki.valueBlock.value[1] as asn1js.BitString).valueBlock.valueHexView;
  const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
  const requestList = [
    new pkijs.Request({
      reqCert: new pkijs.CertID({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({
          algorithmId: '1.3.14.3.2.26',
          algorithmParams: new asn1js.Null(),
        }),
        issuerNameHash: new asn1js.OctetString({
          valueHex: sha1(new Uint8Array(issuerCert.subjectName.toArrayBuffer())),
        }),
        issuerKeyHash: new asn1js.OctetString({ valueHex: sha1(keyBits) }),
        serialNumber: new asn1js.Integer({ valueHex: Buffer.from(cert.serial, 'hex') }),
      }),
    }),
  ];
  const requestOf = (extensions?: pkijs.Extension[]) => {
    const request = new pkijs.OCSPRequest();
    request.tbsRequest.requestList = requestList;
    if (extensions) request.tbsRequest.requestExtensions = extensions;
    return Buffer.from(request.toSchema(true).toBER());
  };
  const plainRequest = requestOf();
  const newNonceRequest = () =>
    requestOf([
      new pkijs.Extension({
        extnID: OCSP_OIDS.nonce,
        extnValue: new asn1js.OctetString({ valueHex: randomBytes(16) }).toBER(),
      }),
    ]);
  // Built before measuring (encoding a request is the client's work, not the responder's); a nonce request
  // is never answered from the cache, so reusing a pool of them measures a fresh signature every time.
  const pool = Array.from({ length: 256 }, newNonceRequest);
  let next = 0;
  const nonceRequest = () => pool[next++ % pool.length] as Buffer;
  // The baseline signs with the very responder key and certificate the responder uses.
  const first = await responder.respond(plainRequest);
  if (first.status !== 'successful') throw new Error(`the responder answered ${first.status}`);
  const authorities = await loadOcspAuthorities(storage.db, kek);
  const issuingAuthority = authorities.all.find((a) => a.kind === 'issuing');
  const stored =
    issuingAuthority &&
    (await ensureResponder(
      storage,
      issuingAuthority,
      kek,
      { lifetimeDays: 7, keyAlgorithm: 'ES256' },
      new Date(),
    ));
  if (!stored) throw new Error('no responder for the issuing CA');
  const key: ResponderKey = stored.key;
  const certId = parseOcspRequest(plainRequest).certIds[0]!.certId;
  const baseline = () => {
    const t = new Date();
    return buildOcspResponse({
      responder: key,
      answers: [{ certId, status: { kind: 'good' } }],
      producedAt: t,
      thisUpdate: t,
      nextUpdate: new Date(t.getTime() + 3_600_000),
    });
  };
  return { storage, dir, responder, plainRequest, nonceRequest, baseline };
}

async function measure(fixture: Fixture, options: Options, mode: Mode, round: number): Promise<Measurement> {
  const op: () => Promise<unknown> =
    mode === 'baseline'
      ? async () => fixture.baseline()
      : mode === 'cached'
        ? () => fixture.responder.respond(fixture.plainRequest)
        : () => fixture.responder.respond(fixture.nonceRequest());
  let recording = false;
  let stopped = false;
  let count = 0;
  const worker = async () => {
    let n = 0;
    while (!stopped) {
      await op();
      if (recording) count++;
      // Signing and SQLite are synchronous: yield now and then so the timers that end the window can fire.
      if (++n % YIELD_EVERY === 0) await new Promise(setImmediate);
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  await new Promise((r) => setTimeout(r, options.warmupS * 1000));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  recording = true;
  await new Promise((r) => setTimeout(r, options.durationS * 1000));
  recording = false;
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  stopped = true;
  await Promise.all(workers);
  const rps = (count / elapsedMs) * 1000;
  progress(`round ${round} ${mode}: ${rps.toFixed(0)} responses/s`);
  return {
    round,
    mode,
    rps,
    cpuUsPerResponse: (cpu.user + cpu.system) / Math.max(1, count),
    responses: count,
  };
}

export async function runOcspBench(options: Options): Promise<Result> {
  progress('creating the CA, a partner certificate, the responder and a SQLite database');
  const fixture = await createFixture();
  try {
    const measurements: Measurement[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? MODES : [...MODES].reverse();
      for (const mode of order) measurements.push(await measure(fixture, options, mode, round));
    }
    const of = (mode: Mode) => measurements.filter((m) => m.mode === mode);
    const summary = MODES.map((mode) => ({
      mode,
      rps: median(of(mode).map((m) => m.rps)),
      cpuUsPerResponse: median(of(mode).map((m) => m.cpuUsPerResponse)),
      ratioToBaseline: median(
        of(mode).map((m) => m.rps / (of('baseline').find((b) => b.round === m.round)?.rps ?? Number.NaN)),
      ),
    }));
    const { json: _json, ...shown } = options;
    return {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      options: shown,
      summary,
      measurements,
    };
  } finally {
    await fixture.storage.close();
    rmSync(fixture.dir, { recursive: true, force: true });
  }
}

function formatResult(result: Result): string {
  const rows = [
    ['mode', 'responses/s', 'CPU µs/response', '× baseline'],
    ...result.summary.map((s) => [
      s.mode,
      s.rps.toFixed(0),
      s.cpuUsPerResponse.toFixed(1),
      s.ratioToBaseline.toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
  return `OCSP responder vs bare sign-and-respond — ${result.node}, ${result.cpus} × ${result.cpuModel}
${result.options.rounds} paired rounds of ${result.options.durationS} s, concurrency ${result.options.concurrency} (medians)
${table}
`;
}

export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, {
    name: 'ocsp',
    help: HELP,
    parse: parseOptions,
    run: runOcspBench,
    format: formatResult,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
