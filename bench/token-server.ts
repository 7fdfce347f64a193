// The server side of `bench token`, run as a child process with IPC (forked by bench/token.ts): either the
// whole platform (its mTLS listener answers the token requests) with one partner and its certificate, or the
// bare baseline: a node:https server with the mTLS listener's TLS settings that reads the peer certificate,
// computes its thumbprint and signs an RFC 9068 ES256 access token with cnf.x5t#S256. process.cpuUsage()
// over the measured window is the whole server side's CPU time (for the platform with PostgreSQL, the
// database server's CPU is not in it: see bench/token.ts).
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { SignJWT } from 'jose';
import pg from 'pg';
import pino from 'pino';
import { createApplication, createOrganisation, scopesForRoles } from '../src/directory/index.ts';
import { createCsr, generateKeyPair } from '../src/pki/index.ts';
import { initPlatform, type PlatformHandle, startPlatform } from '../src/platform/index.ts';
import { loadKek } from '../src/platform/kek.ts';
import { ensureServerTls } from '../src/platform/server-tls.ts';
import { createHttpsListener } from '../src/shared/create-https-listener.ts';
import { DEFAULT_LISTENER_LIMITS } from '../src/shared/listener-limits.ts';
import {
  type ChildMessage,
  type ParentMessage,
  type ServerMaterial,
  type StartMessage,
  TOKEN_PATH,
} from './token-protocol.ts';

interface RunningTarget {
  url: string;
  served(): number;
  close(): Promise<void>;
  material?: ServerMaterial;
  client?: { cert: string; key: string; ca: string };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

const ROLES = ['partner_reader'];

/** initPlatform + startPlatform on free ports, one organisation, one tls_client_auth client and its certificate. */
async function startPlatformTarget(message: StartMessage): Promise<RunningTarget> {
  const root = mkdtempSync(join(tmpdir(), 'accredit-bench-token-'));
  const dataDir = join(root, 'data');
  let schema: string | undefined;
  const env: Record<string, string> = {
    ACCREDIT_PUBLIC_PORT: '0',
    ACCREDIT_PKI_HTTP_PORT: '0',
    ACCREDIT_MTLS_PORT: '0',
    ACCREDIT_GATEWAY_PORT: '0',
    ACCREDIT_LOG_LEVEL: 'warn',
  };
  if (message.postgresUrl) {
    schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    env.ACCREDIT_DATABASE_URL = message.postgresUrl;
    env.ACCREDIT_DATABASE_SCHEMA = schema;
  }
  let platform: PlatformHandle | undefined;
  const dropSchema = async () => {
    if (!schema || !message.postgresUrl) return;
    const client = new pg.Client({ connectionString: message.postgresUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  };
  try {
    await initPlatform({ dataDir, env });
    platform = await startPlatform({ dataDir, env, logger: pino({ level: 'error' }) });
    const p = platform;
    const now = new Date();
    const meta = { actor: 'operator:bench', now };
    const { orgId, clientId } = await p.storage.transaction(async (tx) => {
      const orgId = await createOrganisation(tx, { name: 'Bench Bank' }, meta);
      const clientId = await createApplication(
        tx,
        { orgId, name: 'Token load', roles: ROLES, authMethod: 'tls_client_auth' },
        meta,
      );
      return { orgId, clientId };
    });
    const keys = generateKeyPair('ES256');
    const csrPem = await createCsr({ privateKey: keys.privateKey, publicKey: keys.publicKey });
    const issued = await p.storage.transaction((tx) => p.ca.issue(tx, { clientId, csrPem }, meta));
    const tls = await ensureServerTls(p.config, p.ca, loadKek(dataDir, { create: false }, env), now);
    const serverKey = createPrivateKey({ key: tls.key, passphrase: tls.passphrase, format: 'pem' });
    const mtls = new URL(p.urls.mtls);
    return {
      url: `https://127.0.0.1:${mtls.port}`,
      // Not counted inside the platform: the load generator's count is the figure.
      served: () => 0,
      material: {
        serverCert: tls.cert,
        serverKey: serverKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        caPem: p.ca.chainPem,
        issuer: p.config.publicUrl,
        audience: p.config.gateway.audience,
        clientId,
        orgId,
        roles: ROLES,
        scope: (await scopesForRoles(p.storage.db, ROLES)).join(' '),
        ttlSeconds: p.config.accessTokenTtlSeconds,
      },
      client: {
        cert: issued.certificate_pem,
        key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        ca: p.ca.chainPem,
      },
      async close() {
        await p.stop();
        await dropSchema().catch(() => {});
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await platform?.stop().catch(() => {});
    await dropSchema().catch(() => {});
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** RFC 8705 §3.1: base64url SHA-256 of the DER certificate. */
function thumbprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * The baseline: the mTLS listener's TLS settings (requestCert, CA, TLS ≥ 1.2, HTTP/1.1, the default listener
 * limits); per request it reads the form body, the peer certificate and its thumbprint, and signs an RFC 9068
 * access token with the same claims the platform's carries. No client lookup, no checks.
 */
async function startBaseline(material: ServerMaterial): Promise<RunningTarget> {
  const signing: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const kid = 'baseline-1';
  let served = 0;
  const server: Server = createHttpsListener(
    {
      cert: material.serverCert,
      key: material.serverKey,
      ca: material.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      if (req.method !== 'POST' || req.url !== TOKEN_PATH) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
          const cert = (req.socket as TLSSocket).getPeerX509Certificate();
          if (!cert || form.get('grant_type') !== 'client_credentials') {
            res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
            return;
          }
          const iat = Math.floor(Date.now() / 1000);
          const accessToken = await new SignJWT({
            client_id: material.clientId,
            scope: material.scope,
            org_id: material.orgId,
            roles: material.roles,
            cnf: { 'x5t#S256': thumbprint(cert.raw) },
          })
            .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
            .setIssuer(material.issuer)
            .setAudience(material.audience)
            .setSubject(material.clientId)
            .setIssuedAt(iat)
            .setExpirationTime(iat + material.ttlSeconds)
            .setJti(randomUUID())
            .sign(signing);
          served++;
          const body = JSON.stringify({
            access_token: accessToken,
            expires_in: material.ttlSeconds,
            token_type: 'Bearer',
            scope: material.scope,
          });
          res.writeHead(200, {
            'content-type': 'application/json; charset=utf-8',
            'cache-control': 'no-store',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        } catch {
          res.writeHead(500).end();
        }
      });
    },
    { name: 'baseline', limits: DEFAULT_LISTENER_LIMITS, logger: pino({ level: 'silent' }) },
  );
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: () => served,
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write('bench/token-server.ts is started by bench/token.ts (it needs an IPC channel)\n');
    process.exit(2);
  }
  let target: RunningTarget | undefined;
  let cpu0: NodeJS.CpuUsage | undefined;
  let served0 = 0;
  let profileDir: string | undefined;
  let profiler: Session | undefined;
  let profiles = 0;
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'start':
        (async () => {
          target =
            message.target === 'baseline'
              ? await startBaseline(message.material as ServerMaterial)
              : await startPlatformTarget(message);
          profileDir = message.cpuProfileDir;
          if (profileDir) {
            profiler = new Session();
            profiler.connect();
            await profiler.post('Profiler.enable');
          }
          send({
            type: 'ready',
            url: target.url,
            ...(target.material && { material: target.material }),
            ...(target.client && { client: target.client }),
          });
        })().catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }));
        return;
      case 'measure-start':
        (async () => {
          if (profiler) await profiler.post('Profiler.start');
          served0 = target?.served() ?? 0;
          cpu0 = process.cpuUsage();
          send({ type: 'measuring' });
        })().catch((err: Error) => send({ type: 'error', message: err.message }));
        return;
      case 'measure-stop':
        (async () => {
          const cpu = process.cpuUsage(cpu0);
          const served = (target?.served() ?? 0) - served0;
          if (profiler && profileDir) {
            const { profile } = await profiler.post('Profiler.stop');
            writeFileSync(
              join(profileDir, `token-${process.pid}-${++profiles}.cpuprofile`),
              JSON.stringify(profile),
            );
          }
          send({ type: 'cpu', userUs: cpu.user, systemUs: cpu.system, served });
        })().catch((err: Error) => send({ type: 'error', message: err.message }));
        return;
      case 'exit':
        (target ? target.close() : Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
        return;
    }
  });
  // The parent going away (crash, Ctrl-C) must not leave servers behind.
  process.on('disconnect', () => {
    (target ? target.close() : Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
  });
}

await main();
