// `bench shared-signals`: how long a certificate revocation takes to reach an SSF receiver, by push (RFC 8935)
// and by long poll (RFC 8936), from the moment the operator's revoke call is sent. Informational only.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from 'undici';
import { createCsr, createRootCa, generateKeyPair, issueServerCertificate } from '../src/pki/index.ts';
import { initPlatform, startPlatform } from '../src/platform/index.ts';
import { percentile } from './load.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand } from './options.ts';

const HELP = `Usage: npm run bench -- shared-signals [options]
       node bench/shared-signals.ts [options]

Starts a platform (SQLite, in this process), an HTTPS push receiver on 127.0.0.1 (answering 202) and a
receiver long-polling its poll stream, then revokes certificates one at a time and measures, from the
moment each revoke call is sent: when the call is answered, when the push receiver gets the SET, and when
the waiting long poll returns it. Both streams request CAEP credential-change only.

Options:
  --revocations <n>  certificates revoked, one after another (default 30)
  --json             machine-readable result
  -h, --help         this help
`;

interface Options {
  json: boolean;
  revocations: number;
}

interface Figures {
  p50: number;
  p95: number;
  max: number;
}

interface Result {
  revocations: number;
  answeredMs: Figures;
  pushedMs: Figures;
  polledMs: Figures;
}

const progress = progressOf('shared-signals');

function figures(values: number[]): Figures {
  const sorted = Float64Array.from(values).sort();
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    max: round(sorted.at(-1)!),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function run(options: Options): Promise<Result> {
  const root = mkdtempSync(join(tmpdir(), 'accredit-bench-ssf-'));
  const now = new Date(Date.now() - 60_000);
  const ca = await createRootCa({ commonName: 'Bench Receiver CA', now, validityDays: 2 });
  const keys = generateKeyPair('ES256');
  const cert = await issueServerCertificate({
    issuer: ca,
    publicKey: keys.publicKey,
    commonName: '127.0.0.1',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 2,
    now,
  });
  writeFileSync(join(root, 'receiver-ca.pem'), ca.certPem);
  let onPush: (() => void) | undefined;
  const receiver = createServer(
    { key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: cert.certPem },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(202).end();
        onPush?.();
      });
    },
  );
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const env = {
    ACCREDIT_PUBLIC_PORT: String(await freePort()),
    ACCREDIT_MTLS_PORT: String(await freePort()),
    ACCREDIT_GATEWAY_PORT: String(await freePort()),
    ACCREDIT_FEDERATION_FETCH_CA_FILE: join(root, 'receiver-ca.pem'),
    ACCREDIT_SSF_ALLOW_PRIVATE_ADDRESSES: 'true',
  };
  const dir = join(root, 'data');
  await initPlatform({ dataDir: dir, env });
  const platform = await startPlatform({ dataDir: dir, env, logger: pino({ level: 'silent' }) });
  const agent = new Agent({ connect: { ca: platform.ca.chainPem } });
  try {
    const operator = readFileSync(join(dir, 'operator-token'), 'utf8').trim();
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${platform.urls.public}${path}`, {
        method,
        dispatcher: agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      } as RequestInit);
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    };
    const org = await call(operator, 'POST', '/admin/v1/organisations', { name: 'Bench Org' });
    const app = await call(operator, 'POST', '/admin/v1/applications', {
      org_id: org.id,
      name: 'Bench App',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    const rec = await call(operator, 'POST', '/admin/v1/ssf/receivers', { name: 'bench' });
    const token = rec.token as string;
    const requested = ['https://schemas.openid.net/secevent/caep/event-type/credential-change'];
    const pushUrl = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
    await call(token, 'POST', '/ssf/streams', {
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: pushUrl },
      events_requested: requested,
    });
    const poll = await call(token, 'POST', '/ssf/streams', {
      delivery: { method: 'urn:ietf:rfc:8936' },
      events_requested: requested,
    });
    const pollPath = `/ssf/poll/${poll.stream_id as string}`;
    progress(`issuing ${options.revocations} certificates`);
    const serials: string[] = [];
    for (let i = 0; i < options.revocations; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = await call(
        operator,
        'POST',
        `/admin/v1/applications/${app.client_id as string}/certificates`,
        {
          csr: await createCsr({ privateKey, publicKey }),
        },
      );
      serials.push(issued.serial as string);
    }
    await platform.events.flush();
    await platform.sharedSignals.flush();
    // The issuances are on the poll stream too: take and acknowledge them before measuring.
    let acks: string[] = [];
    for (;;) {
      const drained = await call(token, 'POST', pollPath, {
        returnImmediately: true,
        maxEvents: 100,
        ack: acks,
      });
      acks = Object.keys(drained.sets as object);
      if (acks.length === 0) break;
    }
    progress('revoking, one at a time');
    const answered: number[] = [];
    const pushed: number[] = [];
    const polled: number[] = [];
    for (const serial of serials) {
      const longPoll = call(token, 'POST', pollPath, { maxEvents: 10, ack: acks }).then((r) => ({
        sets: r.sets as Record<string, string>,
        at: performance.now(),
      }));
      // Let the poll reach the platform and start waiting (an empty pass) before the revocation.
      await new Promise((r) => setTimeout(r, 50));
      const push = new Promise<number>((resolve) => {
        onPush = () => resolve(performance.now());
      });
      const start = performance.now();
      await call(operator, 'POST', `/admin/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' });
      answered.push(performance.now() - start);
      pushed.push((await push) - start);
      const got = await longPoll;
      acks = Object.keys(got.sets);
      polled.push(got.at - start);
    }
    return {
      revocations: serials.length,
      answeredMs: figures(answered),
      pushedMs: figures(pushed),
      polledMs: figures(polled),
    };
  } finally {
    await agent.close();
    await platform.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    rmSync(root, { recursive: true, force: true });
  }
}

function format(r: Result): string {
  const line = (name: string, f: Figures) =>
    `  ${name.padEnd(24)} p50 ${f.p50} ms   p95 ${f.p95} ms   max ${f.max} ms`;
  return `Shared Signals: ${r.revocations} certificate revocations, from the revoke call sent to
${line('revoke call answered', r.answeredMs)}
${line('push receiver got SET', r.pushedMs)}
${line('long poll returned SET', r.polledMs)}
`;
}

export function main(argv: string[]): Promise<number> {
  return runBenchCommand<Options, Result>(argv, {
    name: 'shared-signals',
    help: HELP,
    parse(args) {
      const values = parseBenchArgs(args, { revocations: { type: 'string' } });
      if (values.help) return 'help';
      return { json: values.json, revocations: number('revocations', values.revocations, 30, 1, true) };
    },
    run,
    format,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
