import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Agent, request } from 'undici';
import { type StandaloneGateway, startStandaloneGateway } from '../../src/gateway/index.ts';
import { issueEnforcementCredential } from '../../src/platform/enforcement-feed/index.ts';
import { ConfigError, initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { call, capturingLogger, clientAgent, csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { certIdFor, requestDer } from '../pki/ocsp/ocsp-messages.ts';
import { createPartner, type Partner } from '../support/ca-fixture.ts';
import { freePort } from '../support/platform-process.ts';
import { has, type Sample, scrape, total } from './metrics-support.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-metrics-'));
const TOKEN = 'metrics-scrape-token-0123456789-abcdefghijklmnop';

describe('platform: Prometheus metrics on the operator-only listener (issue 16)', {
  timeout: 120_000,
}, () => {
  const dir = join(root, 'data');
  let env: NodeJS.ProcessEnv;
  let platform: PlatformHandle | undefined;
  let lines: string[];
  let partner: Partner;
  let agent: Agent;
  let x5t: string;
  let serial: string;
  const secrets: string[] = [];

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
  const metricsUrl = () => {
    assert.ok(platform?.urls.metrics, 'the metrics listener runs');
    return platform.urls.metrics;
  };

  async function token(scope = 'accounts:read'): Promise<{ status: number; body: Record<string, unknown> }> {
    assert.ok(platform);
    const res = await agent.request({
      origin: platform.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: partner.clientId,
        scope,
      }).toString(),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  before(async () => {
    env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_METRICS_PORT: String(await freePort()),
    };
    await initPlatform({ dataDir: dir, env });
    const p = await start();
    partner = await createPartner(p.storage, 'Acme Bank');
    const { csrPem, keyPem } = await csrWithKey();
    const meta = { actor: 'operator:test', now: new Date() };
    const view = await p.storage.transaction((tx) =>
      p.ca.issue(tx, { clientId: partner.clientId, csrPem }, meta),
    );
    x5t = view.x5t_s256;
    serial = view.serial;
    agent = clientAgent(p.ca.chainPem, { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 });
    // The gateway admits the new certificate once the feed has carried it.
    for (let i = 0; i < 50; i++) {
      if ((await call(agent, p.urls.gateway, '/health')).status !== 403) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    await agent?.close();
    await stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('ok/bound to loopback on the configured port by default; the text format with process metrics', async () => {
    assert.ok(platform);
    assert.equal(platform.config.listeners.metrics.host, '127.0.0.1');
    assert.equal(metricsUrl(), `http://127.0.0.1:${env.ACCREDIT_METRICS_PORT}`);
    const r = await scrape(metricsUrl());
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.ok(has(r.samples, 'process_cpu_user_seconds_total'), 'process metrics');
    assert.ok(has(r.samples, 'nodejs_heap_size_used_bytes'), 'Node.js metrics');
    for (const s of r.samples) {
      assert.match(s.name, /^(accredit_|process_|nodejs_)/, `${s.name}: unexpected metric`);
    }
    const health = await scrape(metricsUrl(), '/health');
    assert.equal(health.status, 200);
  });

  test('ok/refused and allowed gateway requests and a token request move the counters', async () => {
    assert.ok(platform);
    const before = (await scrape(metricsUrl())).samples;
    const refused = await call(agent, platform.urls.gateway, '/v1/accounts');
    assert.equal(refused.status, 401);
    const issued = await token();
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const accessToken = issued.body.access_token as string;
    secrets.push(accessToken);
    const allowed = await call(agent, platform.urls.gateway, '/v1/accounts', { token: accessToken });
    assert.equal(allowed.status, 200, allowed.text);
    const after = (await scrape(metricsUrl())).samples;
    const delta = (name: string, labels: Record<string, string>) =>
      total(after, name, labels) - total(before, name, labels);
    assert.equal(delta('accredit_decisions_total', { door: 'gateway', decision: 'deny' }), 1);
    assert.equal(delta('accredit_decisions_total', { door: 'gateway', decision: 'allow' }), 1);
    const denied = after.filter(
      (s: Sample) => s.name === 'accredit_decisions_total' && s.labels.decision === 'deny',
    );
    assert.ok(
      denied.every((s) => /^[a-z_]+$/.test(s.labels.reason ?? '')),
      'deny samples name a reason',
    );
    assert.deepEqual(Object.keys(denied[0]!.labels).sort(), ['decision', 'door', 'reason']);
    assert.equal(
      delta('accredit_decision_duration_seconds_count', { door: 'gateway', decision: 'allow' }),
      1,
    );
    assert.equal(delta('accredit_decision_duration_seconds_count', { door: 'gateway', decision: 'deny' }), 1);
    assert.ok(has(after, 'accredit_decision_duration_seconds_bucket', { le: '+Inf', decision: 'allow' }));
    assert.equal(delta('accredit_tokens_issued_total', { grant_type: 'client_credentials' }), 1);
  });

  test('ok/token endpoint errors by grant type and code; fail/a made-up grant type is only "other"', async () => {
    assert.ok(platform);
    const before = (await scrape(metricsUrl())).samples;
    const madeUp = `made-up-grant-${partner.clientId}`;
    const res = await agent.request({
      origin: platform.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: madeUp, client_id: partner.clientId }).toString(),
    });
    assert.equal(res.statusCode, 400);
    await res.body.text();
    const badScope = await token('no-such-scope');
    assert.equal(badScope.status, 400);
    const r = await scrape(metricsUrl());
    const delta = (labels: Record<string, string>) =>
      total(r.samples, 'accredit_token_errors_total', labels) -
      total(before, 'accredit_token_errors_total', labels);
    assert.equal(delta({ grant_type: 'other', error: 'unsupported_grant_type' }), 1);
    assert.equal(delta({ grant_type: 'client_credentials', error: 'invalid_scope' }), 1);
    assert.ok(!r.text.includes('made-up-grant'), 'a client-chosen value became a label');
    assert.equal(
      total(r.samples, 'accredit_tokens_issued_total') - total(before, 'accredit_tokens_issued_total'),
      0,
    );
  });

  test('ok/OCSP responses by status: successful and malformedRequest', async () => {
    assert.ok(platform?.urls.pkiHttp);
    const before = (await scrape(metricsUrl())).samples;
    const ask = async (body: Buffer) => {
      const res = await request(`${platform!.urls.pkiHttp}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body,
      });
      await res.body.arrayBuffer();
      return res.statusCode;
    };
    assert.equal(await ask(requestDer([certIdFor(platform.ca.issuingPem, serial)])), 200);
    assert.equal(await ask(Buffer.from('not an OCSP request')), 200);
    const after = (await scrape(metricsUrl())).samples;
    const delta = (status: string) =>
      total(after, 'accredit_ocsp_responses_total', { status }) -
      total(before, 'accredit_ocsp_responses_total', { status });
    assert.equal(delta('successful'), 1);
    assert.equal(delta('malformedRequest'), 1);
  });

  test('ok/feed lag: this process and each standalone gateway that acknowledges; backlog gauges', async () => {
    assert.ok(platform);
    const p = platform;
    await p.storage.feed.sync();
    const r = await scrape(metricsUrl());
    assert.ok(has(r.samples, 'accredit_feed_lag_changes', { follower: 'in_process' }));
    assert.equal(total(r.samples, 'accredit_feed_lag_changes', { follower: 'in_process' }), 0);
    const head = total(r.samples, 'accredit_feed_seq', { source: 'database' });
    assert.ok(head > 0 && head <= (await p.storage.feed.currentSeq()), `database head ${head}`);
    assert.equal(total(r.samples, 'accredit_feed_seq', { source: 'process' }), p.storage.feed.lastSeq);
    for (const name of [
      'accredit_webhook_deliveries_pending',
      'accredit_webhook_deliveries_dead',
      'accredit_ssf_sets_queued',
      'accredit_ssf_sets_failed',
      'accredit_mail_outbox_pending',
      'accredit_mail_outbox_failed',
    ]) {
      assert.ok(has(r.samples, name), `${name} is exported`);
      assert.equal(total(r.samples, name), 0, name);
    }

    // A standalone gateway follows the feed and acknowledges: the platform reports its lag, it its position.
    const credential = await p.storage.transaction((tx) =>
      issueEnforcementCredential(tx, 'edge-metrics', { actor: 'operator:test', now: new Date() }),
    );
    secrets.push(credential.token);
    let standalone: StandaloneGateway | undefined;
    try {
      standalone = await startStandaloneGateway({
        platformUrl: p.urls.public,
        ca: readFileSync(join(dir, 'ca', 'bundle.pem'), 'utf8'),
        credential: credential.token,
        host: '127.0.0.1',
        port: 0,
        publicUrl: 'https://localhost:1',
        tls: await serverTlsFrom(p.ca),
        upstream: 'http://127.0.0.1:1',
        audience: p.config.gateway.audience,
        staleAfterMs: 15_000,
        logger: capturingLogger().logger,
        metrics: { port: 0 },
      });
      const own = standalone.metrics;
      assert.ok(own);
      assert.equal(own.host, '127.0.0.1');
      let acked = false;
      for (let i = 0; i < 100 && !acked; i++) {
        const s = (await scrape(metricsUrl())).samples;
        acked = has(s, 'accredit_feed_lag_changes', { follower: credential.id });
        if (!acked) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(acked, 'the platform reports the standalone gateway’s lag');
      assert.equal(total((await scrape(metricsUrl())).samples, 'accredit_feed_streams'), 1);
      const refused = await call(clientAgent(p.ca.chainPem), standalone.gateway.url, '/v1/accounts');
      assert.ok(refused.status >= 400);
      const g = await scrape(own.url);
      assert.equal(g.status, 200);
      assert.ok(total(g.samples, 'accredit_feed_seq', { source: 'applied' }) > 0);
      assert.equal(total(g.samples, 'accredit_feed_connected'), 1);
      assert.equal(total(g.samples, 'accredit_feed_fresh'), 1);
      assert.ok(has(g.samples, 'accredit_feed_last_event_age_seconds'));
      assert.equal(total(g.samples, 'accredit_decisions_total', { door: 'gateway', decision: 'deny' }), 1);
      assert.ok(has(g.samples, 'process_cpu_user_seconds_total'));
      assert.equal((await scrape(own.url, '/admin/v1/organisations')).status, 404);
    } finally {
      await standalone?.close();
    }
  });

  test('fail/the listener serves nothing but /metrics and /health: 404, another method 405', async () => {
    for (const path of ['/', '/metrics/', '/metricsx', '/admin/v1/organisations', '/jwks', '/%6Detrics']) {
      const r = await scrape(metricsUrl(), path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.text.includes('accredit_'), path);
    }
    assert.equal((await scrape(metricsUrl(), '/metrics?x=1')).status, 200);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await scrape(metricsUrl(), '/metrics', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  });

  test('fail/a scrape never contains client ids, organisations, tokens, certificates or paths', async () => {
    assert.ok(platform);
    const r = await scrape(metricsUrl());
    assert.equal(r.status, 200);
    assert.ok(secrets.length >= 2);
    for (const value of [
      partner.clientId,
      partner.orgId,
      x5t,
      serial,
      '/v1/accounts',
      '/health',
      ...secrets,
    ]) {
      assert.ok(!r.text.includes(value), `the scrape contains ${value.slice(0, 12)}…`);
    }
    const labels = new Set(r.samples.flatMap((s) => Object.keys(s.labels)));
    for (const forbidden of ['client_id', 'jti', 'path', 'org_id', 'route'])
      assert.ok(!labels.has(forbidden));
  });

  describe('with a token file, off loopback, disabled, port taken', () => {
    const tokenFile = join(dir, 'metrics.token');
    before(async () => {
      await stop();
    });
    after(async () => {
      await stop();
    });

    test('fail/a non-loopback host without metrics.tokenFile, or a token file others may read, stops start-up', async () => {
      await assert.rejects(start({ ACCREDIT_METRICS_HOST: '0.0.0.0' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /^ACCREDIT_METRICS_HOST: .*0\.0\.0\.0.*needs metrics\.tokenFile/);
        return true;
      });
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o644 });
      await assert.rejects(start({ ACCREDIT_METRICS_TOKEN_FILE: 'metrics.token' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /readable by others; run chmod 600/);
        assert.ok(!err.message.includes(TOKEN));
        return true;
      });
    });

    test('ok/with a token file: 401 without or with a wrong token, 200 with it; /health open', async () => {
      rmSync(tokenFile);
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const p = await start({
        ACCREDIT_METRICS_HOST: '0.0.0.0',
        ACCREDIT_METRICS_TOKEN_FILE: 'metrics.token',
      });
      assert.equal(p.urls.metrics, `http://0.0.0.0:${env.ACCREDIT_METRICS_PORT}`);
      const base = `http://127.0.0.1:${env.ACCREDIT_METRICS_PORT}`;
      for (const [name, bearer] of [
        ['none', undefined],
        ['wrong', `${TOKEN.slice(0, -1)}X`],
        ['shorter', TOKEN.slice(0, 10)],
        ['longer', `${TOKEN}0`],
      ] as const) {
        const r = await scrape(base, '/metrics', bearer === undefined ? {} : { token: bearer });
        assert.equal(r.status, 401, name);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="accredit-metrics"', name);
        assert.ok(!r.text.includes('accredit_'), name);
      }
      const basic = await request(`${base}/metrics`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      });
      assert.equal(basic.statusCode, 401);
      await basic.body.text();
      const ok = await scrape(base, '/metrics', { token: TOKEN });
      assert.equal(ok.status, 200);
      assert.ok(has(ok.samples, 'accredit_decisions_total') || ok.text.includes('accredit_decisions_total'));
      assert.equal((await scrape(base, '/health')).status, 200);
      assert.ok(!lines.some((l) => l.includes(TOKEN)), 'the token reached the log');
      await stop();
    });

    test('ok/enabled false: no metrics listener', async () => {
      const p = await start({ ACCREDIT_METRICS_ENABLED: 'false' });
      assert.equal(p.urls.metrics, undefined);
      await assert.rejects(request(`http://127.0.0.1:${env.ACCREDIT_METRICS_PORT}/metrics`));
      await stop();
    });

    test('ok/a metrics port already taken is logged; the platform serves on without metrics', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) =>
        blocker.listen(Number(env.ACCREDIT_METRICS_PORT), '127.0.0.1', resolve),
      );
      try {
        const p = await start();
        assert.equal(p.urls.metrics, undefined);
        assert.ok(lines.some((l) => l.includes('metrics listener not started')));
        assert.equal((await call(clientAgent(p.ca.chainPem), p.urls.public, '/health')).status, 200);
        await stop();
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    });
  });
});
