import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { csrWithKey } from '../gateway/fixture.ts';
import { CLI, freePort, PlatformProcess, type RunResult, run } from '../support/platform-process.ts';

const nginxBinary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
// CI installs nginx and sets ACCREDIT_TEST_NGINX=required: there a missing nginx fails instead of skipping.
if (!nginxBinary && process.env.ACCREDIT_TEST_NGINX === 'required') {
  throw new Error('ACCREDIT_TEST_NGINX=required but nginx is not installed');
}
const NO_NGINX = nginxBinary ? false : 'nginx is not installed (apt-get install nginx-light)';

interface Partner {
  clientId: string;
  orgId: string;
  serial: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

interface JsonCase {
  id: string;
  status: 'pass' | 'fail' | 'skip';
  got: string;
  ms: number;
  delayMs?: number;
}

const CASES = [
  'mtls-handshake',
  'token-issued',
  'allowed-call',
  'missing-token',
  'garbage-token',
  'expired-token',
  'unbound-token',
  'insufficient-scope',
  'untrusted-certificate',
  'object-id-tampering',
  'revoked-token',
  'revoked-certificate',
  'suspended-application',
];
/** An owner-guarded operation the seed catalog lacks: the path's {org_id} must be the caller's organisation. */
const OWNED = '/v1/orgs/{org_id}/accounts';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A self-signed certificate made with openssl: nginx's server certificate and its own client certificates. */
function selfSigned(dir: string, name: string, subject: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    subject,
    '-addext',
    'subjectAltName=DNS:localhost',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  return { cert, key };
}

/**
 * Issue 12's "done when", with Debian's nginx in front of one platform process: the partner test plan
 * (`accredit testplan run --destructive`) passes through nginx in both modes the edge kit exports — nginx
 * terminating mTLS and proxying to the gateway with the certificate in a header, and nginx asking the decision
 * door with auth_request — and a revocation reaches nginx's own TLS check after `accredit edge sync`.
 */
describe('nginx in front of Accredit: proxy to the gateway and auth_request', {
  skip: NO_NGINX,
  timeout: 120_000,
}, () => {
  let platform: PlatformProcess;
  let tls: string;
  let ca: string;
  let adminAgent: Agent;
  let operator: string;
  let operatorFile: string;
  let nginx: ChildProcess | undefined;
  let rogueNginx: ChildProcess | undefined;
  let nginxErrors = '';
  let upstream: Server;
  const upstreamSeen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const ports = { proxy: 0, rogue: 0, authRequest: 0, decision: 0 };
  const partners: Record<string, Partner> = {};
  const timings: string[] = [];

  const t = (name: string) => join(tls, name);
  const nginxPrefix = () => t('nginx');
  const nginxArgs = () => ['-p', nginxPrefix(), '-c', join(nginxPrefix(), 'nginx.conf')];
  const reloadCommand = () => [nginxBinary, ...nginxArgs(), '-s', 'reload'].join(' ');

  async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await request(`${platform.url}/admin/v1${path}`, {
      method: method as 'GET',
      dispatcher: adminAgent,
      headers: {
        authorization: `Bearer ${operator}`,
        ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
      },
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
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
    const certFile = t(`${app.client_id}.pem`);
    const keyFile = t(`${app.client_id}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return {
      clientId: app.client_id,
      orgId: org.id,
      serial: cert.serial,
      certFile,
      keyFile,
      certPem: cert.certificate_pem,
      keyPem,
    };
  }

  async function cli(args: string[]): Promise<Record<string, unknown>> {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** nginx in the foreground (master and workers), under `prefix`, including the exported server blocks. */
  async function startNginx(prefix: string, includes: string[]): Promise<ChildProcess> {
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
${includes.map((file) => `    include ${file};`).join('\n')}
}
`,
    );
    const args = ['-p', prefix, '-c', conf];
    const checked = spawnSync(nginxBinary!, ['-t', ...args], { encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stderr);
    const child = spawn(nginxBinary!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d) => {
      nginxErrors += String(d);
    });
    return child;
  }

  /** `edge export --for nginx` into its own kit directory: the only adaptations are ports and file paths. */
  async function exportKit(dir: string, listen: number, proxy: { cert: string; key: string }) {
    await cli([
      'edge',
      'export',
      '--for',
      'nginx',
      '--out',
      dir,
      '--server-name',
      'localhost',
      '--listen',
      String(listen),
      '--tls-cert',
      t('server.pem'),
      '--tls-key',
      t('server.key'),
      '--proxy-cert',
      proxy.cert,
      '--proxy-key',
      proxy.key,
      '--gateway-url',
      platform.gatewayUrl,
      '--decision-url',
      `https://localhost:${ports.decision}`,
      '--upstream-url',
      `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    ]);
  }

  /** A partner's agent: its certificate, trusting nginx's self-signed server certificate and the platform CA. */
  function agentOf(p: Partner | undefined): Agent {
    return new Agent({
      connect: {
        ca: `${ca}\n${readFileSync(t('server.pem'), 'utf8')}`,
        ...(p ? { cert: p.certPem, key: p.keyPem } : {}),
        maxCachedSessions: 0,
      },
    });
  }

  async function tokenOf(p: Partner): Promise<string> {
    const agent = agentOf(p);
    try {
      const res = await request(`${platform.mtlsUrl}/token`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${encodeURIComponent(p.clientId)}`,
      });
      const body = (await res.body.json()) as { access_token?: string };
      assert.ok(body.access_token, JSON.stringify(body));
      return body.access_token;
    } finally {
      await agent.close();
    }
  }

  /** One call with a fresh connection: status and the problem's code (or the body). */
  async function call(
    base: string,
    p: Partner | undefined,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; code: string | undefined; text: string }> {
    const agent = agentOf(p);
    try {
      const res = await request(`${base}${path}`, { dispatcher: agent, headers });
      const text = await res.body.text();
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { code?: string }).code;
      } catch {
        code = undefined;
      }
      return { status: res.statusCode, code, text };
    } finally {
      await agent.close();
    }
  }

  function testplan(p: Partner, api: string, foreignOrg: string): Promise<RunResult> {
    return run(
      process.execPath,
      [
        CLI,
        'testplan',
        'run',
        '--issuer',
        platform.url,
        '--api',
        api,
        '--cert',
        p.certFile,
        '--key',
        p.keyFile,
        '--client-id',
        p.clientId,
        '--ca',
        t('trust.pem'),
        '--path',
        '/v1/accounts',
        '--forbidden-path',
        'POST /v1/payments',
        '--owned-path',
        OWNED.replace('{org_id}', '{id}'),
        '--foreign-id',
        foreignOrg,
        '--admin-url',
        platform.url,
        '--operator-token-file',
        operatorFile,
        '--destructive',
        '--json',
      ],
      { ACCREDIT_DIR: '', ACCREDIT_ISSUER: '', ACCREDIT_CA_BUNDLE: '' },
    );
  }

  function assertAllPass(result: RunResult, mode: string): Map<string, JsonCase> {
    const report = JSON.parse(result.stdout) as { ok: boolean; cases: JsonCase[] };
    const byId = new Map(report.cases.map((c) => [c.id, c]));
    const failed = report.cases.filter((c) => c.status !== 'pass');
    assert.deepEqual(
      failed.map((c) => `${c.id}: ${c.status} ${c.got}`),
      [],
      `${mode}: ${result.stderr.slice(-2000)}\n${nginxErrors.slice(-2000)}`,
    );
    assert.deepEqual([...byId.keys()], CASES);
    assert.equal(result.code, 0);
    const total = report.cases.reduce((sum, c) => sum + c.ms, 0);
    timings.push(
      `${mode}: ${report.cases.length} PASS in ${total} ms (${report.cases.map((c) => `${c.id} ${c.ms}`).join(', ')}); ` +
        `revocation → refused ms: ${['revoked-token', 'revoked-certificate', 'suspended-application']
          .map((id) => `${id} ${byId.get(id)?.delayMs}`)
          .join(', ')}`,
    );
    return byId;
  }

  /** The platform's decision lines so far (log lines reach stdout in batches: wait a little first). */
  async function decisionLines(): Promise<number> {
    await sleep(400);
    return platform.output.split('\n').filter((l) => l.includes('"gateway decision"')).length;
  }

  before(async () => {
    tls = mkdtempSync(join(tmpdir(), 'accredit-nginx-doors-'));
    selfSigned(tls, 'server', '/CN=localhost');
    const proxy = selfSigned(tls, 'edge', '/CN=nginx-edge');
    selfSigned(tls, 'rogue', '/CN=rogue-edge');
    const proxyThumbprint = new X509Certificate(readFileSync(proxy.cert)).fingerprint256;
    ports.proxy = await freePort();
    ports.rogue = await freePort();
    ports.authRequest = await freePort();
    ports.decision = await freePort();
    platform = await PlatformProcess.create({
      // nginx is a trusted proxy by its address and its own certificate; it forwards $ssl_client_escaped_cert.
      ACCREDIT_PROXIES: JSON.stringify([
        { address: '127.0.0.1', form: 'nginx', clientCertSha256: [proxyThumbprint] },
      ]),
      // The decision door answers only nginx, by the same certificate.
      ACCREDIT_DECISION_PORT: String(ports.decision),
      ACCREDIT_DECISION_CALLERS: proxyThumbprint,
    });
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    operatorFile = join(platform.dir, 'operator-token');
    operator = readFileSync(operatorFile, 'utf8').trim();
    ca = readFileSync(platform.caBundle, 'utf8');
    writeFileSync(t('trust.pem'), `${ca}\n${readFileSync(t('server.pem'), 'utf8')}`);
    adminAgent = new Agent({ connect: { ca } });

    // Mode B's API: answers everything, remembering what nginx forwarded.
    upstream = createServer((req, res) => {
      upstreamSeen.push({ url: req.url ?? '', headers: req.headers });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"accounts":[]}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));

    await cli([
      'catalog',
      'operation',
      'add',
      '--method',
      'GET',
      '--path',
      OWNED,
      '--scope',
      'accounts:read',
      '--owner-param',
      'org_id',
    ]);
    for (const name of ['proxied', 'decided', 'revoked', 'direct']) partners[name] = await newPartner(name);

    await exportKit(t('kit-proxy'), ports.proxy, proxy);
    await exportKit(t('kit-rogue'), ports.rogue, { cert: t('rogue.pem'), key: t('rogue.key') });
    await exportKit(t('kit-auth'), ports.authRequest, proxy);
    // One nginx for both modes; the one with a certificate the platform does not pin runs on its own (an
    // nginx reuses TLS sessions per upstream address, which would carry the pinned certificate over).
    nginx = await startNginx(nginxPrefix(), [
      t('kit-proxy/nginx-gateway.conf'),
      t('kit-auth/nginx-auth-request.conf'),
    ]);
    rogueNginx = await startNginx(t('nginx-rogue'), [t('kit-rogue/nginx-gateway.conf')]);
    for (const port of [ports.proxy, ports.authRequest, ports.rogue]) {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await call(`https://localhost:${port}`, partners.direct, '/health').then(
          () => true,
          () => false,
        );
        if (!up) await sleep(100);
      }
      assert.ok(up, `nginx on ${port}: ${nginxErrors}`);
    }
  });

  after(async () => {
    for (const child of [nginx, rogueNginx]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await platform?.stop();
    platform?.cleanup();
    upstream?.close();
    await adminAgent?.close();
    if (tls) rmSync(tls, { recursive: true, force: true });
    for (const line of timings) console.log(`# ${line}`);
  });

  test('ok/mode A (nginx terminates mTLS, proxies to the gateway): the whole test plan passes', async () => {
    const result = await testplan(
      partners.proxied!,
      `https://localhost:${ports.proxy}`,
      partners.decided!.orgId,
    );
    const byId = assertAllPass(result, 'proxy to the gateway');
    assert.match(byId.get('insufficient-scope')!.got, /^403 insufficient_scope/);
    assert.match(byId.get('object-id-tampering')!.got, /^403 resource_owner_mismatch/);
    // nginx refuses a certificate of another CA itself, with its 400 page.
    assert.match(byId.get('untrusted-certificate')!.got, /^400 nginx: The SSL certificate error/);
    // nginx's own TLS check still admits the revoked certificate (its CRL is older): the gateway refuses it.
    assert.match(byId.get('revoked-certificate')!.got, /certificate_revoked/);
  });

  test('ok/mode B (nginx auth_request to the decision door): the whole test plan passes; identity reaches the API', async () => {
    upstreamSeen.length = 0;
    const p = partners.decided!;
    const result = await testplan(p, `https://localhost:${ports.authRequest}`, partners.proxied!.orgId);
    const byId = assertAllPass(result, 'auth_request');
    assert.match(byId.get('untrusted-certificate')!.got, /^400 nginx: The SSL certificate error/);
    assert.match(byId.get('object-id-tampering')!.got, /^403\b/);
    assert.match(byId.get('revoked-certificate')!.got, /^403\b/);
    const allowed = upstreamSeen.find(
      (s) => s.url === '/v1/accounts' && s.headers['x-accredit-client-id'] === p.clientId,
    );
    assert.ok(allowed, JSON.stringify(upstreamSeen.map((s) => s.url)));
    assert.equal(allowed.headers['x-accredit-org-id'], p.orgId);
    assert.equal(allowed.headers['x-accredit-scopes'], 'accounts:read');
    assert.match(String(allowed.headers['x-accredit-cert-x5t-s256']), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(allowed.headers['x-accredit-token-jti']);
    assert.equal(allowed.headers.authorization, undefined, 'the token stays at the edge');
    // Nothing the door refused reached the API.
    assert.ok(upstreamSeen.every((s) => s.url === '/health' || s.headers['x-accredit-client-id']));
  });

  test('fail/a client sending its own X-Client-Cert straight to the gateway is not believed', async () => {
    const victim = partners.direct!;
    const token = await tokenOf(victim);
    const header = { authorization: `Bearer ${token}`, 'x-client-cert': encodeURIComponent(victim.certPem) };
    // Without a certificate of its own: the header does not stand in for one.
    const none = await call(platform.gatewayUrl, undefined, '/v1/accounts', header);
    assert.ok([401, 403].includes(none.status), `${none.status} ${none.text}`);
    assert.notEqual(none.code, 'allowed');
    // With another partner's certificate: the TLS peer is judged, not the header, so the binding fails.
    const other = await call(platform.gatewayUrl, partners.revoked, '/v1/accounts', header);
    assert.equal(other.status, 401, other.text);
    // From nginx's address but not nginx (not its certificate): a client like any other, judged by its own.
    const own = await call(platform.gatewayUrl, victim, '/v1/accounts', { authorization: `Bearer ${token}` });
    assert.equal(own.status, 200, own.text);
    // Through nginx, the same token with its own certificate is admitted.
    const via = await call(`https://localhost:${ports.proxy}`, victim, '/v1/accounts', {
      authorization: `Bearer ${token}`,
    });
    assert.equal(via.status, 200, via.text);
  });

  test('fail/nginx presenting a certificate the platform does not pin: its forwarded certificates are ignored', async () => {
    const p = partners.direct!;
    const token = await tokenOf(p);
    const r = await call(`https://localhost:${ports.rogue}`, p, '/v1/accounts', {
      authorization: `Bearer ${token}`,
    });
    // Not the pinned proxy: the gateway judges that nginx's own (self-signed, unregistered) certificate.
    assert.deepEqual([r.status, r.code], [403, 'certificate_untrusted'], r.text);
  });

  test('fail/edge export: --proxy-cert without --proxy-key is refused', async () => {
    const r = await platform.cli([
      'edge',
      'export',
      '--for',
      'nginx',
      '--out',
      t('kit-half'),
      '--proxy-cert',
      t('edge.pem'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--proxy-cert and --proxy-key go together/);
    assert.equal(existsSync(t('kit-half')), false);
  });

  test('ok/revocation: refused by the platform at once, by nginx itself after edge sync', async () => {
    const p = partners.revoked!;
    const token = await tokenOf(p);
    const proxied = `https://localhost:${ports.proxy}`;
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await call(proxied, p, '/v1/accounts', auth)).status, 200);
    await admin('POST', `/certificates/${p.serial}/revoke`, {});
    // nginx's CRL is the exported one: the handshake succeeds, the platform refuses the request.
    const refused = await call(proxied, p, '/v1/accounts', auth);
    assert.deepEqual([refused.status, refused.code], [403, 'certificate_revoked']);
    const viaDoor = await call(`https://localhost:${ports.authRequest}`, p, '/v1/accounts', auth);
    assert.equal(viaDoor.status, 403);

    for (const kit of ['kit-proxy', 'kit-auth']) {
      const synced = await platform.cli([
        'edge',
        'sync',
        '--out',
        t(kit),
        '--once',
        '--reload',
        reloadCommand(),
        '--json',
      ]);
      assert.equal(synced.code, 0, synced.stdout + synced.stderr);
      const round = JSON.parse(synced.stdout) as { changed: string[]; reload: { exit_code: number } | null };
      assert.ok(round.changed.includes('crl-chain.pem'), synced.stdout);
      assert.equal(round.reload?.exit_code, 0);
    }
    const before = await decisionLines();
    const upstreamBefore = upstreamSeen.length;
    // After the reload, nginx answers 400 itself (old workers finish their connections first).
    for (const base of [proxied, `https://localhost:${ports.authRequest}`]) {
      let status = 0;
      for (let i = 0; i < 100 && status !== 400; i++) {
        status = (await call(base, p, '/v1/accounts', auth)).status;
        if (status !== 400) await sleep(50);
      }
      assert.equal(status, 400, base);
    }
    const afterLines = await decisionLines();
    // Only the calls made before the new workers took over may have reached the platform.
    const stray = afterLines - before;
    assert.ok(stray <= 4, `${stray} decisions after the reload`);
    const settled = await decisionLines();
    for (const base of [proxied, `https://localhost:${ports.authRequest}`]) {
      const r = await call(base, p, '/v1/accounts', auth);
      assert.equal(r.status, 400);
      assert.match(r.text, /<title>400 The SSL certificate error<\/title>/, 'nginx’s own page');
    }
    assert.equal(await decisionLines(), settled, 'no request of the revoked partner reaches the platform');
    assert.equal(upstreamSeen.length, upstreamBefore);
    // Another partner is unaffected.
    const other = partners.direct!;
    const ok = await call(proxied, other, '/v1/accounts', {
      authorization: `Bearer ${await tokenOf(other)}`,
    });
    assert.equal(ok.status, 200, ok.text);
  });
});
