// `bench webhooks`: how fast platform events become delivered webhooks (queue, then sign + send + settle), per
// engine and signature scheme, against the network floor of the same POSTs through the same guarded sender
// measured in the same run. Informational only: it never fails on a figure, only when the run itself breaks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import {
  consumeEvents,
  createWebhookSubscription,
  type EventSigner,
  enqueueDeliveries,
  recordPlatformEvent,
  startWebhookDispatcher,
  WEBHOOK_CONSUMER,
  type WebhookScheme,
} from '../src/audit/index.ts';
import { createGuardedSender } from '../src/shared/guarded-fetch/index.ts';
import { openStorage, type Storage } from '../src/storage/index.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand, UsageError } from './options.ts';

const HELP = `Usage: npm run bench -- webhooks [options]
       node bench/webhooks.ts [options]

Records --events platform events, then measures, for each engine and signature scheme, with one subscription:
  queue     consumeEvents → one delivery row per event, written with the consumer's cursor
  deliver   the real dispatcher: claim, sign (JWS ES256 or Standard Webhooks HMAC), POST over keep-alive
            HTTPS to an in-process receiver on 127.0.0.1 (answers 204), settle and log the attempt
  floor     the same number of POSTs through the same guarded sender, no database, no signing
CPU is this process's (receiver included, as in the floor).

Options:
  --events <n>      events per case (default 2000)
  --engine <name>   sqlite, postgres or both (default sqlite; postgres at ACCREDIT_TEST_POSTGRES_URL or
                    postgres://postgres@127.0.0.1:5432/test, in a fresh schema)
  --json            machine-readable result
`;

interface Options {
  json: boolean;
  events: number;
  engines: Array<'sqlite' | 'postgres'>;
}

interface Phase {
  ms: number;
  perSecond: number;
  cpuUsPerItem: number;
}

interface CaseResult {
  engine: string;
  scheme: WebhookScheme;
  events: number;
  queue: Phase;
  deliver: Phase;
}

interface Result {
  floor: Phase;
  cases: CaseResult[];
}

const KEK = 'bench-key-encryption-key-0123456789abcdef';
const progress = progressOf('webhooks');

function parse(argv: string[]): Options | 'help' {
  const v = parseBenchArgs(argv, { events: { type: 'string' }, engine: { type: 'string' } });
  if (v.help) return 'help';
  const engine = v.engine ?? 'sqlite';
  if (!['sqlite', 'postgres', 'both'].includes(engine))
    throw new UsageError(`--engine: sqlite, postgres or both`);
  return {
    json: v.json,
    events: number('events', v.events, 2000, 1, true),
    engines: engine === 'both' ? ['sqlite', 'postgres'] : [engine as 'sqlite' | 'postgres'],
  };
}

async function measure(items: number, fn: () => Promise<void>): Promise<Phase> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    ms: Math.round(ms),
    perSecond: Math.round((items / ms) * 1000),
    cpuUsPerItem: Math.round((cpu.user + cpu.system) / items),
  };
}

async function run(options: Options): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-bench-webhooks-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  let received = 0;
  const receiver = createServer({ cert, key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const sender = createGuardedSender({ allowLoopback: true, ca: cert, timeoutMs: 10_000 });
  const { privateKey } = await generateKeyPair('ES256');
  const signer: EventSigner = {
    kid: 'bench',
    alg: 'ES256',
    sign: (claims, typ) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'bench', typ }).sign(privateKey),
  };
  const logger = pino({ level: 'silent' });
  try {
    progress(`floor: ${options.events} POSTs`);
    const body = JSON.stringify({ id: 'x', type: 'organisation.suspended', data: {} });
    const floor = await measure(options.events, async () => {
      let next = 0;
      const worker = async () => {
        while (next < options.events) {
          next++;
          await sender.post({ url, headers: { 'content-type': 'application/json' }, body });
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    });
    let caseNo = 0;
    const runCase = async (
      engine: 'sqlite' | 'postgres',
      scheme: WebhookScheme,
      events: number,
    ): Promise<CaseResult> => {
      const schema = `bench_wh_${process.pid}_${++caseNo}`;
      const storage: Storage = await openStorage(
        engine === 'sqlite'
          ? { url: join(dir, `${caseNo}.db`) }
          : {
              url: process.env.ACCREDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
              schema,
            },
      );
      try {
        const now = new Date();
        await storage.transaction((tx) =>
          createWebhookSubscription(
            tx,
            { url, event_types: ['*'], scheme },
            { actor: 'bench', now, kek: KEK, urlGuard: sender },
          ),
        );
        await consumeEvents(storage, WEBHOOK_CONSUMER, async () => {}, now);
        progress(`${engine} ${scheme}: recording ${events} events`);
        for (let i = 0; i < events; i += 100) {
          await storage.transaction(async (tx) => {
            for (let j = i; j < Math.min(i + 100, events); j++) {
              await recordPlatformEvent(
                tx,
                {
                  type: 'certificate.revoked',
                  orgId: `org-${j % 10}`,
                  clientId: `client-${j}`,
                  subject: { kind: 'certificate', id: `serial-${j}` },
                  data: { serial: `serial-${j}`, reason: 'keyCompromise' },
                },
                now,
              );
            }
          });
        }
        progress(`${engine} ${scheme}: queue`);
        const queue = await measure(events, async () => {
          await consumeEvents(
            storage,
            WEBHOOK_CONSUMER,
            (tx, events) => enqueueDeliveries(tx, events, new Date()).then(() => {}),
            new Date(),
          );
        });
        progress(`${engine} ${scheme}: deliver`);
        received = 0;
        const deliver = await measure(events, async () => {
          const dispatcher = startWebhookDispatcher({
            storage,
            clock: () => new Date(),
            logger,
            sender,
            kek: KEK,
            signer: async () => signer,
            issuer: 'https://accredit.bench',
            policy: { scheduleSeconds: [1], maxAgeMs: 3600_000 },
            pollIntervalMs: 50,
          });
          while (received < events) await dispatcher.run();
          await dispatcher.close();
        });
        return { engine, scheme, events, queue, deliver };
      } finally {
        if (engine === 'postgres') await storage.db.schema.dropSchema(schema).cascade().execute();
        await storage.close();
      }
    };
    progress('warm-up');
    await runCase('sqlite', 'jws', Math.min(500, options.events));
    const cases: CaseResult[] = [];
    for (const engine of options.engines) {
      for (const scheme of ['standard-webhooks', 'jws'] as const) {
        cases.push(await runCase(engine, scheme, options.events));
      }
    }
    return { floor, cases };
  } finally {
    await sender.close();
    receiver.closeAllConnections();
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function format(result: Result): string {
  const row = (name: string, p: Phase) =>
    `  ${name.padEnd(34)} ${String(p.perSecond).padStart(7)}/s  ${String(p.cpuUsPerItem).padStart(6)} µs CPU each`;
  const lines = [row('floor (POST only, 16 at once)', result.floor)];
  for (const c of result.cases) {
    lines.push(row(`${c.engine} ${c.scheme} queue`, c.queue));
    lines.push(row(`${c.engine} ${c.scheme} deliver`, c.deliver));
  }
  return `${lines.join('\n')}\n`;
}

export function main(argv: string[]): Promise<number> {
  return runBenchCommand(argv, { name: 'webhooks', help: HELP, parse, run, format });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
