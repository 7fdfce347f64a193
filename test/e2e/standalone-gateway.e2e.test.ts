import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { csrWithKey } from '../gateway/fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CLI, freePort, PlatformProcess, run } from '../support/platform-process.ts';

const targets = await engineTargets();
const STALE_AFTER_MS = 1500;
const RETRY_WINDOW_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Partner {
  certFile: string;
  keyFile: string;
  orgId: string;
  clientId: string;
  serial: string;
  agent: Agent;
}

/** Sockets and files the process holds open, from /proc: what a process without a database must not have. */
function openHandles(pid: number): { files: string[]; remotePorts: number[] } {
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const inodes = new Set(links.map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1]).filter(Boolean));
  const remotePorts: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]))
        remotePorts.push(Number.parseInt(cols[2]!.split(':')[1]!, 16));
    }
  }
  return { files: links.filter((l) => l.startsWith('/')), remotePorts };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

for (const target of targets) {
  describe(`standalone gateway end to end (two processes): ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let platform: PlatformProcess;
    let gateway: ChildProcess;
    let gatewayOutput = '';
    let gatewayUrl: string;
    let upstream: Server;
    let operator: string;
    let ca: string;
    let gatewayCert: string;
    let credential: string;
    let adminAgent: Agent;
    const delays: number[] = [];
    const firstTry: boolean[] = [];
    const callMs: number[] = [];

    async function admin<T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<T> {
      const res = await request(`${platform.url}/admin/v1${path}`, {
        method: method as 'GET',
        dispatcher: adminAgent,
        headers: {
          authorization: `Bearer ${operator}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${text}`);
      return JSON.parse(text) as T;
    }

    async function newPartner(name: string): Promise<Partner> {
      const org = await admin<{ id: string }>('POST', '/organisations', { name });
      const app = await admin<{ client_id: string }>('POST', '/applications', {
        org_id: org.id,
        name: 'Payments',
        roles: ['partner_reader'],
        auth_method: 'tls_client_auth',
      });
      const { csrPem, keyPem } = await csrWithKey();
      const cert = await admin<{ serial: string; certificate_pem: string }>(
        'POST',
        `/applications/${app.client_id}/certificates`,
        { csr: csrPem },
      );
      const agent = new Agent({
        connect: {
          ca: `${ca}\n${gatewayCert}`,
          cert: cert.certificate_pem,
          key: keyPem,
          maxCachedSessions: 0,
        },
      });
      const certFile = join(platform.dir, `${app.client_id}.pem`);
      const keyFile = join(platform.dir, `${app.client_id}.key`);
      writeFileSync(certFile, cert.certificate_pem);
      writeFileSync(keyFile, keyPem, { mode: 0o600 });
      return { orgId: org.id, clientId: app.client_id, serial: cert.serial, agent, certFile, keyFile };
    }

    /** The partner's token request, as curl (a fresh TLS connection each time, as a partner's job would). */
    async function token(p: Partner): Promise<string> {
      const r = await run('curl', [
        '-sS',
        '--cacert',
        platform.caBundle,
        '--cert',
        p.certFile,
        '--key',
        p.keyFile,
        '-d',
        'grant_type=client_credentials',
        '-d',
        `client_id=${p.clientId}`,
        `${platform.mtlsUrl}/token`,
      ]);
      const body = JSON.parse(r.stdout) as { access_token?: string };
      assert.ok(body.access_token, r.stdout + r.stderr);
      return body.access_token;
    }

    async function api(
      p: Partner,
      tok: string,
      path = '/v1/accounts',
    ): Promise<{ status: number; code?: string }> {
      const res = await request(`${gatewayUrl}${path}`, {
        dispatcher: p.agent,
        headers: { authorization: `Bearer ${tok}` },
      });
      const text = await res.body.text();
      if (res.statusCode === 200) return { status: 200 };
      return { status: res.statusCode, code: (JSON.parse(text) as { code?: string }).code };
    }

    /**
     * The revoking call, then a request through the standalone gateway: it must be refused (the platform answers
     * once the gateway has confirmed the change). The time from the answer to the refused response is printed.
     */
    async function refusedNext(revoke: () => Promise<unknown>, p: Partner, tok: string, codes: string[]) {
      const called = performance.now();
      await revoke();
      const answered = performance.now();
      callMs.push(answered - called);
      for (let attempt = 1; ; attempt++) {
        const r = await api(p, tok);
        if (r.status !== 200) {
          delays.push(performance.now() - answered);
          firstTry.push(attempt === 1);
          assert.ok(codes.includes(r.code ?? ''), `refused with ${r.code}, expected ${codes.join('|')}`);
          assert.equal(attempt, 1, 'the very next request after the answer is refused');
          return r;
        }
        assert.ok(
          performance.now() - answered < RETRY_WINDOW_MS,
          `still admitted ${RETRY_WINDOW_MS} ms after the answer`,
        );
      }
    }

    /** Admitted once the feed has carried the new partner to the gateway (setup only). */
    async function admitted(p: Partner, tok: string): Promise<void> {
      for (let i = 0; i < 100; i++) {
        if ((await api(p, tok)).status === 200) return;
        await sleep(20);
      }
      assert.fail(`not admitted: ${JSON.stringify(await api(p, tok))}`);
    }

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {},
      );
      const init = await platform.cli(['init', '--json']);
      assert.equal(init.code, 0, init.stderr);
      await platform.start();
      operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
      ca = readFileSync(platform.caBundle, 'utf8');
      adminAgent = new Agent({ connect: { ca } });
      upstream = createServer((_req, res) => res.end('{"accounts":[]}'));
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));

      const issued = await platform.cli(['gateway', 'credential', 'issue', '--name', 'edge-1', '--json']);
      assert.equal(issued.code, 0, issued.stderr);
      const credentialFile = join(platform.dir, 'edge-1.credential');
      credential = (JSON.parse(issued.stdout) as { token: string }).token;
      writeFileSync(credentialFile, credential, { mode: 0o600 });

      // The gateway's own server certificate: any the partners trust; here a self-signed one for localhost.
      const tlsKey = join(platform.dir, 'gateway.key.pem');
      const tlsCert = join(platform.dir, 'gateway.pem');
      const made = await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        tlsKey,
        '-out',
        tlsCert,
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ]);
      assert.equal(made.code, 0, made.stderr);
      gatewayCert = readFileSync(tlsCert, 'utf8');
      const port = await freePort();
      gatewayUrl = `https://localhost:${port}`;
      gateway = spawn(
        process.execPath,
        [
          CLI,
          'gateway',
          '--platform-url',
          platform.url,
          '--ca',
          platform.caBundle,
          '--credential-file',
          credentialFile,
          '--port',
          String(port),
          '--tls-cert',
          tlsCert,
          '--tls-key',
          tlsKey,
          '--upstream',
          `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
          // Tokens are minted for the platform's configured API audience.
          '--audience',
          platform.gatewayUrl,
          '--stale-after-ms',
          String(STALE_AFTER_MS),
        ],
        // No database settings reach it: the environment has none, and it is not given the data directory.
        { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      gateway.stdout!.on('data', (d) => {
        gatewayOutput += String(d);
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${gatewayOutput}`)), 30_000);
        gateway.stderr!.on('data', (d) => {
          gatewayOutput += String(d);
          if (gatewayOutput.includes('accredit gateway: serving')) {
            clearTimeout(timer);
            resolve();
          }
        });
        gateway.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`gateway exited with ${code}:\n${gatewayOutput}`));
        });
      });
    });

    after(async () => {
      gateway?.kill('SIGTERM');
      await platform?.stop();
      platform?.cleanup();
      upstream?.close();
      await adminAgent?.close();
      await target.cleanup();
      if (delays.length > 0) {
        const sorted = [...delays].sort((a, b) => a - b);
        console.log(
          `# ${target.name}: ${sorted.length} refusals through the standalone gateway, answer → refused response ms: ` +
            `p50 ${quantile(sorted, 0.5).toFixed(2)}, p99 ${quantile(sorted, 0.99).toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)}; ` +
            `refused on the first request ${firstTry.filter(Boolean).length}/${firstTry.length}`,
        );
        const calls = [...callMs].sort((a, b) => a - b);
        console.log(
          `# ${target.name}: revoking call round trip ms (answered once the gateway confirmed): ` +
            `p50 ${quantile(calls, 0.5).toFixed(2)}, p99 ${quantile(calls, 0.99).toFixed(2)}, max ${calls.at(-1)!.toFixed(2)}`,
        );
      }
    });

    test('ok/the gateway process holds no database connection and opens no database file', async () => {
      const handles = openHandles(gateway.pid!);
      assert.ok(!handles.remotePorts.includes(5432), `no PostgreSQL socket: ${handles.remotePorts}`);
      assert.deepEqual(
        handles.files.filter(
          (f) => /\.db(-wal|-shm|-journal)?$/.test(f) || f.startsWith(platform.dir + '/accredit'),
        ),
        [],
      );
      assert.ok(handles.remotePorts.includes(platform.port), 'it follows the platform over HTTPS');
    });

    test('ok/20 token revocations: each refused on the very next request', async () => {
      const p = await newPartner('Token Bank');
      const first = await token(p);
      await admitted(p, first);
      for (let i = 0; i < 20; i++) {
        const tok = i === 0 ? first : await token(p);
        await admitted(p, tok);
        await refusedNext(
          () =>
            request(`${platform.mtlsUrl}/token/revocation`, {
              method: 'POST',
              dispatcher: p.agent,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: `token=${tok}&client_id=${encodeURIComponent(p.clientId)}`,
            }).then(async (r) => {
              await r.body.text();
              assert.equal(r.statusCode, 200);
            }),
          p,
          tok,
          ['token_revoked'],
        );
      }
    });

    test('ok/application suspension (10 times) and certificate revocation: refused on the very next request', async () => {
      const p = await newPartner('Suspend Bank');
      const tok = await token(p);
      await admitted(p, tok);
      for (let i = 0; i < 10; i++) {
        await refusedNext(() => admin('POST', `/applications/${p.clientId}/suspend`, {}), p, tok, [
          'client_suspended',
        ]);
        await admin('POST', `/applications/${p.clientId}/activate`, {});
        await admitted(p, tok);
      }
      await refusedNext(() => admin('POST', `/certificates/${p.serial}/revoke`, {}), p, tok, [
        'certificate_revoked',
      ]);
    });

    test('ok/organisation suspension and offboarding: refused on the very next request', async () => {
      const p = await newPartner('Org Bank');
      const tok = await token(p);
      await admitted(p, tok);
      await refusedNext(() => admin('POST', `/organisations/${p.orgId}/suspend`, {}), p, tok, [
        'org_suspended',
      ]);
      await admin('POST', `/organisations/${p.orgId}/activate`, {});
      await admitted(p, tok);
      await refusedNext(() => admin('POST', `/organisations/${p.orgId}/offboard`, {}), p, tok, [
        'org_offboarded',
        'certificate_revoked',
        'client_suspended',
      ]);
    });

    test('ok/catalog edits: the standalone gateway follows on the very next request (404 → 200 → 403 → 404)', async () => {
      const p = await newPartner('Catalog Bank');
      const tok = await token(p);
      await admitted(p, tok);
      assert.deepEqual(await api(p, tok, '/v1/balances'), { status: 404, code: 'route_not_found' });
      const op = await admin<{ id: string }>('POST', '/catalog/operations', {
        method: 'GET',
        path_pattern: '/v1/balances',
        scope: 'accounts:read',
      });
      assert.deepEqual(await api(p, tok, '/v1/balances'), { status: 200 });
      await admin('PATCH', `/catalog/operations/${op.id}`, { scope: 'accounts:write' });
      assert.deepEqual(await api(p, tok, '/v1/balances'), { status: 403, code: 'insufficient_scope' });
      const removed = await request(`${platform.url}/admin/v1/catalog/operations/${op.id}`, {
        method: 'DELETE',
        dispatcher: adminAgent,
        headers: { authorization: `Bearer ${operator}` },
      });
      await removed.body.text();
      assert.equal(removed.statusCode, 204);
      assert.deepEqual(await api(p, tok, '/v1/balances'), { status: 404, code: 'route_not_found' });
      assert.deepEqual(await api(p, tok), { status: 200 });
    });

    test('ok/credentials are listed without their tokens and revoked from the CLI; none reaches a log', async () => {
      const second = await platform.cli(['gateway', 'credential', 'issue', '--name', 'edge-2', '--json']);
      const id = (JSON.parse(second.stdout) as { id: string }).id;
      const revoked = await platform.cli(['gateway', 'credential', 'revoke', id, '--json']);
      assert.equal(revoked.code, 0, revoked.stderr);
      const list = await platform.cli(['gateway', 'credential', 'list', '--json']);
      const items = JSON.parse(list.stdout) as Array<{
        name: string;
        revoked_at: string | null;
        token?: string;
      }>;
      assert.deepEqual(items.map((c) => [c.name, c.revoked_at !== null]).sort(), [
        ['edge-1', false],
        ['edge-2', true],
      ]);
      assert.ok(items.every((c) => c.token === undefined));
      const again = await platform.cli(['gateway', 'credential', 'revoke', id]);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /already revoked/);
      await sleep(300);
      assert.doesNotMatch(platform.output, new RegExp(credential), 'not in the platform log');
      assert.doesNotMatch(gatewayOutput, new RegExp(credential), 'not in the gateway log');
    });

    test('fail/the platform gone, the gateway refuses everything after the staleness bound, and says so', async () => {
      const p = await newPartner('Stale Bank');
      const tok = await token(p);
      await admitted(p, tok);
      // The bound runs from the gateway's last contact, which is before the platform begins to stop (a loaded
      // machine can take most of a second to stop it).
      const stopped = performance.now();
      await platform.stop();
      let refusedAt: number | undefined;
      while (performance.now() - stopped < STALE_AFTER_MS + 3000) {
        const r = await api(p, tok);
        if (r.status === 503) {
          assert.equal(r.code, 'feed_stale');
          refusedAt = performance.now() - stopped;
          break;
        }
        await sleep(50);
      }
      assert.ok(refusedAt !== undefined, 'refused once stale');
      // Within the bound it still serves from its state; after it, never.
      assert.ok(refusedAt >= STALE_AFTER_MS - 600, `not before the bound (${refusedAt} ms)`);
      const health = await request(`${gatewayUrl}/health`, { dispatcher: p.agent });
      assert.equal(health.statusCode, 503);
      assert.equal(((await health.body.json()) as { code: string }).code, 'feed_stale');
      // Log lines reach stdout in batches (at most 250 ms late).
      for (let i = 0; i < 40 && !gatewayOutput.includes('enforcement feed stale'); i++) await sleep(50);
      assert.match(gatewayOutput, /enforcement feed stale: refusing every request/);
      assert.equal(gatewayOutput.match(/enforcement feed stale/g)?.length, 1, 'logged once');
    });
  });
}
