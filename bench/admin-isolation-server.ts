// The server side of `bench admin-isolation`, forked with IPC: the whole platform in its embedded default (one
// process: gateway, admin API, authorization server, SQLite), one partner with a certificate and an access
// token for the gateway, an operator token for the admin API, and N applications in the directory.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Insertable } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createApplication, createOrganisation } from '../src/directory/index.ts';
import { createCsr, generateKeyPair } from '../src/pki/index.ts';
import { initPlatform, type PlatformHandle, startPlatform } from '../src/platform/index.ts';
import { createOperatorToken } from '../src/platform/operator-tokens.ts';
import type { Database } from '../src/storage/index.ts';
import type { ChildMessage, Material, ParentMessage } from './admin-isolation-protocol.ts';

const send = (message: ChildMessage) => process.send?.(message);
const progress = (line: string) => process.stderr.write(`[bench admin-isolation server] ${line}\n`);
const GATEWAY_PATH = '/v1/accounts';

let close: (() => Promise<void>) | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function start(applications: number, postgresUrl: string | undefined): Promise<Material> {
  const root = mkdtempSync(join(tmpdir(), 'accredit-bench-admin-'));
  const dataDir = join(root, 'data');
  // Real ports: the gateway fetches the JWKS from the public URL, which names the public port.
  const env: Record<string, string> = {
    ACCREDIT_PUBLIC_PORT: String(await freePort()),
    ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
    ACCREDIT_MTLS_PORT: String(await freePort()),
    ACCREDIT_GATEWAY_PORT: String(await freePort()),
    ACCREDIT_METRICS_ENABLED: 'false',
    ACCREDIT_LOG_LEVEL: 'warn',
  };
  const schema = postgresUrl ? `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}` : undefined;
  if (postgresUrl && schema) {
    env.ACCREDIT_DATABASE_URL = postgresUrl;
    env.ACCREDIT_DATABASE_SCHEMA = schema;
  }
  let platform: PlatformHandle | undefined;
  close = async () => {
    await platform?.stop().catch(() => {});
    if (postgresUrl && schema) {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
    }
    rmSync(root, { recursive: true, force: true });
  };
  await initPlatform({ dataDir, env });
  // Decision lines go nowhere: the figure is the gateway's work, not a log sink's.
  platform = await startPlatform({ dataDir, env, logger: pino({ level: 'error' }) });
  const p = platform;
  const meta = { actor: 'operator:bench', now: new Date() };
  const { orgId, clientId, operatorToken } = await p.storage.transaction(async (tx) => {
    const orgId = await createOrganisation(tx, { name: 'Bench Bank' }, meta);
    const clientId = await createApplication(
      tx,
      { orgId, name: 'Gateway load', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      meta,
    );
    const operatorToken = await createOperatorToken(tx, 'bench', meta);
    return { orgId, clientId, operatorToken };
  });
  const keys = generateKeyPair('ES256');
  const csrPem = await createCsr({ privateKey: keys.privateKey, publicKey: keys.publicKey });
  const issued = await p.storage.transaction((tx) => p.ca.issue(tx, { clientId, csrPem }, meta));
  const clientKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  // The directory: N applications over 100 organisations, in multi-row statements (the seed of a measurement,
  // not the path under test; the import under test runs during the measured windows).
  progress(`seeding ${applications} applications`);
  const orgIds: string[] = [];
  for (let i = 0; i < 100; i++) {
    orgIds.push(
      await p.storage.transaction((tx) => createOrganisation(tx, { name: `Seed Partner ${i}` }, meta)),
    );
  }
  for (let start = 0; start < applications; start += 500) {
    const rows: Insertable<Database['applications']>[] = [];
    for (let i = start; i < Math.min(applications, start + 500); i++) {
      const at = new Date(Date.parse('2026-01-01T00:00:00Z') + i).toISOString();
      rows.push({
        client_id: `seed-${randomBytes(8).toString('hex')}`,
        org_id: orgIds[i % orgIds.length] as string,
        name: `seed app ${i}`,
        name_key: `seed app ${i}`,
        status: 'active',
        auth_method: 'tls_client_auth',
        registration_type: 'manual',
        metadata: '{}',
        created_at: at,
        updated_at: at,
        environment: 'production',
      });
    }
    await p.storage.transaction((tx) => tx.db.insertInto('applications').values(rows).execute());
  }

  const agent = new Agent({
    connect: { ca: p.ca.chainPem, cert: issued.certificate_pem, key: clientKey },
  });
  try {
    const res = await request(`${new URL(p.urls.mtls).origin}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
      dispatcher: agent,
    });
    const body = (await res.body.json()) as { access_token?: string };
    if (res.statusCode !== 200 || !body.access_token) {
      throw new Error(`token request answered ${res.statusCode}: ${JSON.stringify(body)}`);
    }
    void orgId;
    return {
      gatewayOrigin: new URL(p.urls.gateway).origin,
      publicOrigin: new URL(p.urls.public).origin,
      gatewayPath: GATEWAY_PATH,
      caPem: p.ca.chainPem,
      clientCert: issued.certificate_pem,
      clientKey,
      accessToken: body.access_token,
      operatorToken,
      applications,
    };
  } finally {
    await agent.close();
  }
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      start(message.applications, message.postgresUrl)
        .then((material) => send({ type: 'started', material }))
        .catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }));
      return;
    case 'exit':
      (close ? close() : Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
      return;
  }
});
process.on('disconnect', () => {
  (close ? close() : Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
});
