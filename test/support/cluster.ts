import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  Socket,
  type Server as TcpServer,
} from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { csrWithKey } from '../gateway/fixture.ts';
import { POSTGRES_URL } from './engines.ts';
import { CLI, freePort, PlatformProcess, run } from './platform-process.ts';

/** Issue 16: two platform nodes on one PostgreSQL schema (the second joined with `accredit join`), gateways. */

export interface Partner {
  orgId: string;
  clientId: string;
  serial: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export class StandaloneGateway {
  readonly url: string;
  output = '';
  readonly #child: ChildProcess;
  constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.#child = child;
    child.stdout!.on('data', (d) => {
      this.output += String(d);
    });
  }
  get pid(): number | undefined {
    return this.#child.pid;
  }
  async ready(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${this.output}`)), 30_000);
      this.#child.stderr!.on('data', (d) => {
        this.output += String(d);
        if (this.output.includes('accredit gateway: serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited with ${code}:\n${this.output}`));
      });
    });
  }
  stop(): void {
    this.#child.kill('SIGTERM');
  }
}

export class Cluster {
  readonly schema = `t_cluster_${randomBytes(5).toString('hex')}`;
  /** Every connection of this cluster's processes carries it, so a test can end exactly those backends. */
  readonly applicationName = `accredit_${this.schema}`;
  nodes: PlatformProcess[] = [];
  gateways: StandaloneGateway[] = [];
  operator = '';
  ca = '';
  adminAgent!: Agent;
  upstream!: Server;
  gatewayTls = { cert: '', key: '', certPem: '' };
  credentialFile = '';

  get databaseUrl(): string {
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('application_name', this.applicationName);
    return url.toString();
  }

  /** Node 1 by `init`, node 2 by `accredit join` with a join token node 1 printed. */
  async start(options: { nodes?: number; serveEnv?: NodeJS.ProcessEnv } = {}): Promise<void> {
    const first = await PlatformProcess.create({
      ACCREDIT_DATABASE_URL: this.databaseUrl,
      ACCREDIT_DATABASE_SCHEMA: this.schema,
      ...options.serveEnv,
    });
    this.nodes.push(first);
    const init = await first.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await first.start();
    this.operator = readFileSync(join(first.dir, 'operator-token'), 'utf8').trim();
    this.ca = readFileSync(first.caBundle, 'utf8');
    this.adminAgent = new Agent({ connect: { ca: this.ca } });
    for (let i = 1; i < (options.nodes ?? 2); i++) {
      const node = await PlatformProcess.create({ ...options.serveEnv });
      const joined = await this.join(node, `node-${i + 1}`);
      assert.equal(joined.code, 0, joined.stderr);
      await node.start();
      this.nodes.push(node);
    }
  }

  /** A join token from node 1's admin API (the CLI's `node join-token` prints the same; tested on its own). */
  async joinToken(
    ttlSeconds?: number,
  ): Promise<{ id: string; token: string; ca_sha256: string; join_command: string }> {
    return this.adminOk(
      0,
      'POST',
      '/nodes/join-tokens',
      ttlSeconds === undefined ? {} : { ttl_seconds: ttlSeconds },
    );
  }

  async join(node: PlatformProcess, name: string, token?: { token: string; ca_sha256: string }) {
    const t = token ?? (await this.joinToken());
    return node.cli([
      'join',
      this.nodes[0]!.url,
      '--token',
      t.token,
      '--ca-sha256',
      t.ca_sha256,
      '--name',
      name,
    ]);
  }

  async admin<T = Record<string, unknown>>(
    node: number,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await request(`${this.nodes[node]!.url}/admin/v1${path}`, {
      method: method as 'GET',
      dispatcher: this.adminAgent,
      headers: {
        authorization: `Bearer ${this.operator}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : {}) as T };
  }

  async adminOk<T = Record<string, unknown>>(node: number, method: string, path: string, body?: unknown) {
    const r = await this.admin<T>(node, method, path, body);
    assert.ok(r.status < 300, `${method} ${path} on node ${node + 1}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async newPartner(name: string, node = 0): Promise<Partner> {
    const org = await this.adminOk<{ id: string }>(node, 'POST', '/organisations', { name });
    const app = await this.adminOk<{ client_id: string }>(node, 'POST', '/applications', {
      org_id: org.id,
      name: 'Payments',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await this.adminOk<{ serial: string; certificate_pem: string }>(
      node,
      'POST',
      `/applications/${app.client_id}/certificates`,
      { csr: csrPem },
    );
    const dir = this.nodes[0]!.dir;
    const certFile = join(dir, `${app.client_id}.pem`);
    const keyFile = join(dir, `${app.client_id}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return {
      orgId: org.id,
      clientId: app.client_id,
      serial: cert.serial,
      certPem: cert.certificate_pem,
      keyPem,
      certFile,
      keyFile,
    };
  }

  /** A client-credentials token from a node's mTLS listener. */
  async token(p: Partner, node = 0): Promise<string> {
    const agent = new Agent({ connect: { ca: this.ca, cert: p.certPem, key: p.keyPem } });
    try {
      const res = await request(`${this.nodes[node]!.mtlsUrl}/token`, {
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

  /** A standalone gateway following `platformUrl` (a node, or a balancer in front of the nodes). */
  async startGateway(
    platformUrl: string,
    options: { staleAfterMs?: number } = {},
  ): Promise<StandaloneGateway> {
    const dir = this.nodes[0]!.dir;
    if (!this.credentialFile) {
      const issued = await this.nodes[0]!.cli([
        'gateway',
        'credential',
        'issue',
        '--name',
        'edges',
        '--json',
      ]);
      assert.equal(issued.code, 0, issued.stderr);
      this.credentialFile = join(dir, 'edges.credential');
      writeFileSync(this.credentialFile, (JSON.parse(issued.stdout) as { token: string }).token, {
        mode: 0o600,
      });
      this.gatewayTls = { key: join(dir, 'gateway.key.pem'), cert: join(dir, 'gateway.pem'), certPem: '' };
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
        this.gatewayTls.key,
        '-out',
        this.gatewayTls.cert,
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ]);
      assert.equal(made.code, 0, made.stderr);
      this.gatewayTls.certPem = readFileSync(this.gatewayTls.cert, 'utf8');
      this.upstream = createServer((_req, res) => res.end('{"accounts":[]}'));
      await new Promise<void>((resolve) => this.upstream.listen(0, '127.0.0.1', resolve));
    }
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI,
        'gateway',
        '--platform-url',
        platformUrl,
        '--ca',
        this.nodes[0]!.caBundle,
        '--credential-file',
        this.credentialFile,
        '--port',
        String(port),
        '--tls-cert',
        this.gatewayTls.cert,
        '--tls-key',
        this.gatewayTls.key,
        '--upstream',
        `http://127.0.0.1:${(this.upstream.address() as AddressInfo).port}`,
        '--audience',
        this.nodes[0]!.gatewayUrl,
        '--stale-after-ms',
        String(options.staleAfterMs ?? 15_000),
      ],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const gateway = new StandaloneGateway(`https://localhost:${port}`, child);
    await gateway.ready();
    this.gateways.push(gateway);
    return gateway;
  }

  /** An agent presenting the partner's certificate, trusting the gateways' and the platform's certificates. */
  partnerAgent(p: Partner): Agent {
    return new Agent({
      connect: { ca: `${this.ca}\n${this.gatewayTls.certPem}`, cert: p.certPem, key: p.keyPem },
    });
  }

  /** Ends every PostgreSQL backend of this cluster's processes: a database restart as the nodes see it. */
  async terminateBackends(): Promise<number> {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const r = await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1',
        [this.applicationName],
      );
      return r.rowCount ?? 0;
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    for (const g of this.gateways) g.stop();
    for (const n of this.nodes) {
      // A node killed by a test has no exit to wait for.
      if (n.running) await n.stop();
      n.cleanup();
    }
    this.upstream?.close();
    await this.adminAgent?.close();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
}

export async function gatewayCall(
  gatewayUrl: string,
  agent: Agent,
  token: string,
): Promise<{ status: number; code?: string }> {
  const res = await request(`${gatewayUrl}/v1/accounts`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.body.text();
  if (res.statusCode === 200) return { status: 200 };
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {}
  return { status: res.statusCode, ...(code ? { code } : {}) };
}

/** A round-robin TCP (TLS passthrough) balancer: each new connection goes to the next target port. */
export function tcpBalancer(targets: number[]): Promise<{ server: TcpServer; port: number }> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const port = targets[next++ % targets.length]!;
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    upstream.connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    }),
  );
}
