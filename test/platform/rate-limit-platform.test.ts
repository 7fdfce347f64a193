import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Agent } from 'undici';
import { initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { call, capturingLogger, clientAgent, csrWithKey } from '../gateway/fixture.ts';
import { createPartner, type Partner } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CLI, freePort, run } from '../support/platform-process.ts';

/**
 * Issue 16 end to end: two nodes of one platform on one PostgreSQL database (two gateways, one counter),
 * limits set through the admin API and the CLI reaching both nodes' gateways before their next request.
 */
const target = (await engineTargets()).find((t) => t.name === 'postgres');
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});

describe('platform: rate limits shared by two nodes on PostgreSQL', {
  skip: target?.skip ?? 'no PostgreSQL target',
  timeout: 120_000,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'accredit-rate-limit-'));
  const dir = join(root, 'data');
  let a: PlatformHandle;
  let b: PlatformHandle;
  let envA: NodeJS.ProcessEnv;
  let partner: Partner;
  let agent: Agent;
  let operator: string;
  let accessToken: string;

  const nodeEnv = async (shared: NodeJS.ProcessEnv) => ({
    ...shared,
    ACCREDIT_PUBLIC_PORT: String(await freePort()),
    ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
    ACCREDIT_MTLS_PORT: String(await freePort()),
    ACCREDIT_GATEWAY_PORT: String(await freePort()),
    ACCREDIT_METRICS_ENABLED: 'false',
  });
  const through = (node: PlatformHandle) =>
    call(agent, node.urls.gateway, '/v1/accounts', { token: accessToken });
  // Both nodes follow the database's change feed (LISTEN/NOTIFY); make sure each has read the newest entry.
  const settle = async () => {
    await a.storage.feed.sync();
    await b.storage.feed.sync();
  };

  before(async () => {
    assert.ok(target);
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const options = target.freshOptions();
    const shared: NodeJS.ProcessEnv = {
      ACCREDIT_DATABASE_URL: options.url,
      ...(options.schema ? { ACCREDIT_DATABASE_SCHEMA: options.schema } : {}),
      ACCREDIT_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      ACCREDIT_UPSTREAM_SECRET: 'Zq8-operator-chosen-upstream-secret-0123456789',
    };
    envA = await nodeEnv(shared);
    // One platform behind one name: both nodes issue and accept the same issuer and audience.
    shared.ACCREDIT_PUBLIC_URL = `https://localhost:${envA.ACCREDIT_PUBLIC_PORT}`;
    shared.ACCREDIT_MTLS_URL = `https://localhost:${envA.ACCREDIT_MTLS_PORT}`;
    shared.ACCREDIT_API_AUDIENCE = 'https://api.example';
    Object.assign(envA, shared, { ACCREDIT_ADMIN_URL: shared.ACCREDIT_PUBLIC_URL });
    const init = await initPlatform({ dataDir: dir, env: envA });
    operator = readFileSync(init.operatorTokenFile as string, 'utf8').trim();
    a = await startPlatform({ dataDir: dir, env: envA, logger: capturingLogger().logger });
    b = await startPlatform({ dataDir: dir, env: await nodeEnv(shared), logger: capturingLogger().logger });
    partner = await createPartner(a.storage, 'Acme Bank');
    const { csrPem, keyPem } = await csrWithKey();
    const view = await a.storage.transaction((tx) =>
      a.ca.issue(tx, { clientId: partner.clientId, csrPem }, { actor: 'operator:test', now: new Date() }),
    );
    agent = clientAgent(a.ca.chainPem, { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 });
    const tokenRes = await agent.request({
      origin: a.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: partner.clientId,
        scope: 'accounts:read',
      }).toString(),
    });
    assert.equal(tokenRes.statusCode, 200);
    accessToken = ((await tokenRes.body.json()) as { access_token: string }).access_token;
    await settle();
  });

  after(async () => {
    await agent?.close();
    await b?.stop();
    await a?.stop();
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(root, { recursive: true, force: true });
    await target?.cleanup();
  });

  test('ok/a limit set through the admin API of node A is counted across both gateways; fail/the (limit+1)th is 429', async () => {
    assert.equal((await through(a)).status, 200, 'no limit yet');
    const put = await call(agent, a.urls.public, `/admin/v1/applications/${partner.clientId}/rate-limit`, {
      method: 'PUT',
      token: operator,
      body: { limits: [{ quota: 3, window: 3600 }] },
    });
    assert.equal(put.status, 200, put.text);
    await settle();
    const answers = [await through(a), await through(b), await through(a)];
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200],
    );
    // `t` depends on the time between requests: the name and `r` only.
    assert.deepEqual(
      answers.map((r) => String(r.headers.ratelimit).replace(/;t=\d+$/, '')),
      ['"client-3600s";r=2', '"client-3600s";r=1', '"client-3600s";r=0'],
    );
    const refused = await through(b);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.code, 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal((await through(a)).status, 429, 'node A sees the same counter');
  });

  test('ok/the CLI raises the limit; the very next request on either node is admitted', async () => {
    const set = await run(
      process.execPath,
      [CLI, '--dir', dir, '--json', 'app', 'rate-limit', 'set', partner.clientId, '--limit', '10/1h'],
      envA,
    );
    assert.equal(set.code, 0, set.stderr + set.stdout);
    assert.deepEqual(JSON.parse(set.stdout).policy, [{ quota: 10, window: 3600 }]);
    await settle();
    const next = await through(b);
    assert.equal(next.status, 200, next.text);
    assert.match(String(next.headers['ratelimit-policy']), /"client-3600s";q=10;w=3600/);
    const shown = await run(
      process.execPath,
      [CLI, '--dir', dir, 'app', 'rate-limit', 'show', partner.clientId],
      envA,
    );
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /10 per 3600 s/);
    const removed = await run(
      process.execPath,
      [CLI, '--dir', dir, 'app', 'rate-limit', 'remove', partner.clientId],
      envA,
    );
    assert.equal(removed.code, 0, removed.stderr);
    await settle();
    const free = await through(a);
    assert.equal(free.status, 200);
    assert.equal(free.headers.ratelimit, undefined);
  });

  test('ok/the admin OpenAPI document describes the rate-limit endpoints', async () => {
    const doc = await call(agent, a.urls.public, '/admin/v1/openapi.json');
    assert.equal(doc.status, 200);
    const paths = doc.json.paths as Record<string, Record<string, unknown>>;
    for (const path of [
      '/admin/v1/organisations/{id}/rate-limit',
      '/admin/v1/applications/{clientId}/rate-limit',
      '/admin/v1/catalog/rate-limit',
    ]) {
      for (const method of ['get', 'put', 'delete']) assert.ok(paths[path]?.[method], `${method} ${path}`);
    }
  });
});
