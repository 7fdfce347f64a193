import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Agent, request } from 'undici';
import { GATEWAY_SECRET_HEADER } from '../../src/gateway/index.ts';
import { ConfigError, initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import {
  call,
  capturingLogger,
  clientAgent,
  csrWithKey,
  selfSignedCredential,
  serverTlsFrom,
} from '../gateway/fixture.ts';
import { createPartner, type Partner } from '../support/ca-fixture.ts';
import { freePort } from '../support/platform-process.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-upstream-secret-'));
const SECRET = 'Zq8-operator-chosen-upstream-secret-0123456789';

/** The gateway's 'listening' line names its upstream: how a local process would find the sample's port. */
function gatewayUpstream(lines: string[]): string {
  for (const line of lines) {
    const entry = JSON.parse(line) as { listener?: string; msg?: string; upstream?: string };
    if (entry.listener === 'gateway' && entry.msg === 'listening' && entry.upstream) return entry.upstream;
  }
  throw new Error('the gateway did not log its upstream');
}

describe('platform: the gateway → upstream hop', { timeout: 120_000 }, () => {
  const dir = join(root, 'data');
  let env: NodeJS.ProcessEnv;
  let platform: PlatformHandle | undefined;
  let lines: string[];
  let partner: Partner;
  let agent: Agent;

  async function start(extra: NodeJS.ProcessEnv = {}): Promise<PlatformHandle> {
    const captured = capturingLogger();
    lines = captured.lines;
    platform = await startPlatform({ dataDir: dir, env: { ...env, ...extra }, logger: captured.logger });
    return platform;
  }

  async function stop(): Promise<void> {
    await platform?.stop();
    platform = undefined;
  }

  /** The gateway learns the new certificate from the change feed: poll /health until it does. */
  async function health(p: PlatformHandle): Promise<number> {
    let status = 0;
    for (let i = 0; i < 50; i++) {
      status = (await call(agent, p.urls.gateway, '/health')).status;
      if (status !== 403) return status;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return status;
  }

  before(async () => {
    env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_LOG_LEVEL: 'info',
    };
    await initPlatform({ dataDir: dir, env });
    const p = await start();
    partner = await createPartner(p.storage, 'Acme Bank');
    const { csrPem, keyPem } = await csrWithKey();
    const meta = { actor: 'operator:test', now: new Date() };
    const view = await p.storage.transaction((tx) =>
      p.ca.issue(tx, { clientId: partner.clientId, csrPem }, meta),
    );
    agent = clientAgent(p.ca.chainPem, { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 });
  });

  after(async () => {
    await agent?.close();
    await stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('fail/a local process calling the embedded sample API directly with forged identity gets 401', async () => {
    const sample = gatewayUpstream(lines);
    assert.match(sample, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const path of ['/v1/accounts', '/health']) {
      const res = await request(`${sample}${path}`, {
        headers: { 'x-accredit-client-id': partner.clientId, 'x-accredit-org-id': partner.orgId },
      });
      const body = (await res.body.json()) as { code?: string; accounts?: unknown };
      assert.equal(res.statusCode, 401, `${path} answered a caller that bypassed the gateway`);
      assert.equal(body.code, 'not_from_gateway');
      assert.equal(body.accounts, undefined);
    }
  });

  test('ok/through the gateway the embedded sample API answers, and the gateway does not warn', async () => {
    assert.ok(platform);
    assert.equal(await health(platform), 200);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: partner.clientId,
      scope: 'accounts:read',
    });
    const tokenRes = await agent.request({
      origin: platform.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const { access_token: token } = (await tokenRes.body.json()) as { access_token: string };
    assert.equal(tokenRes.statusCode, 200);
    const res = await call(agent, platform.urls.gateway, '/v1/accounts', { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.org_id, partner.orgId);
    assert.ok(!lines.some((l) => l.includes('INSECURE')));
  });

  describe('in front of a configured upstream', () => {
    const seen: IncomingHttpHeaders[] = [];
    const echo = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    let upstream: NodeJS.ProcessEnv;
    const secretFile = join(dir, 'upstream.secret');

    before(async () => {
      await stop();
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      upstream = { ACCREDIT_UPSTREAM_URL: `http://127.0.0.1:${(echo.address() as AddressInfo).port}` };
    });
    after(async () => {
      await stop();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    });

    test('fail/a group- or world-readable gateway.upstreamSecretFile stops start-up', async () => {
      writeFileSync(secretFile, `${SECRET}\n`);
      for (const mode of [0o644, 0o640]) {
        chmodSync(secretFile, mode);
        await assert.rejects(
          start({ ...upstream, ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }),
          (err: unknown) => {
            assert.ok(err instanceof ConfigError, String(err));
            assert.match(err.message, /^gateway\.upstreamSecretFile .* too open; run chmod 600 /);
            assert.ok(!err.message.includes(SECRET));
            return true;
          },
        );
      }
    });

    test('ok/the gateway sends the file’s secret on every request and never logs it', async () => {
      chmodSync(secretFile, 0o600);
      const p = await start({ ...upstream, ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' });
      seen.length = 0;
      const res = await call(agent, p.urls.gateway, '/health', {
        headers: { [GATEWAY_SECRET_HEADER]: 'chosen-by-the-client-chosen-by-the-client' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(seen.at(-1)?.[GATEWAY_SECRET_HEADER], SECRET);
      assert.equal(res.headers[GATEWAY_SECRET_HEADER], undefined);
      assert.ok(!lines.some((l) => l.includes(SECRET)), 'the upstream secret reached the log');
      assert.ok(!lines.some((l) => l.includes('INSECURE')));
      await stop();
    });

    test('ok/mTLS to an https upstream with the gateway’s client certificate; fail/without it, 502', async () => {
      const p = await start();
      const gatewayCred = await selfSignedCredential('accredit-gateway');
      const server = createHttpsServer(
        {
          ...(await serverTlsFrom(p.ca)),
          ca: gatewayCred.certPem,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          seen.push(req.headers);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"status":"ok"}');
        },
      );
      await stop();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      writeFileSync(join(dir, 'upstream-ca.pem'), p.ca.chainPem);
      writeFileSync(join(dir, 'gateway.pem'), gatewayCred.certPem);
      writeFileSync(join(dir, 'gateway.key'), gatewayCred.keyPem, { mode: 0o600 });
      const https = {
        ACCREDIT_UPSTREAM_URL: `https://localhost:${(server.address() as AddressInfo).port}`,
        ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret',
        ACCREDIT_UPSTREAM_CA_FILE: 'upstream-ca.pem',
      };
      try {
        const withCert = await start({
          ...https,
          ACCREDIT_UPSTREAM_CLIENT_CERT_FILE: 'gateway.pem',
          ACCREDIT_UPSTREAM_CLIENT_KEY_FILE: 'gateway.key',
        });
        seen.length = 0;
        assert.equal((await call(agent, withCert.urls.gateway, '/health')).status, 200);
        assert.equal(seen.at(-1)?.[GATEWAY_SECRET_HEADER], SECRET);
        await stop();
        const withoutCert = await start(https);
        const res = await call(agent, withoutCert.urls.gateway, '/health');
        assert.equal(res.status, 502, res.text);
        assert.equal(seen.length, 1, 'the upstream refused the gateway without its certificate');
        await stop();
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    test('fail/without a secret file the upstream gets no secret and start-up warns loudly', async () => {
      const p = await start(upstream);
      seen.length = 0;
      assert.equal((await call(agent, p.urls.gateway, '/health')).status, 200);
      assert.equal(seen.at(-1)?.[GATEWAY_SECRET_HEADER], undefined);
      const warning = lines.find((l) => l.includes('INSECURE'));
      assert.ok(warning, 'no start-up warning about the unauthenticated upstream hop');
      assert.equal((JSON.parse(warning) as { level: number }).level, 40);
      await stop();
    });
  });
});
