import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/platform/index.ts';
import { BACKLOG_CACHE_MS, createPlatformMetrics } from '../../src/platform/metrics/index.ts';
import { DEFAULT_LISTENER_LIMITS } from '../../src/shared/listener-limits.ts';
import {
  createMetricsRegistry,
  decisionMetrics,
  isLoopbackHost,
  readMetricsToken,
  startMetricsListener,
} from '../../src/shared/metrics/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { has, parseExposition, scrape, total } from './metrics-support.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-metrics-parts-'));
after(() => rmSync(root, { recursive: true, force: true }));
const TOKEN = 'another-metrics-token-0123456789-abcdefghijklmn';

const ZERO = { webhookPending: 0, webhookDead: 0, ssfQueued: 0, ssfFailed: 0, mailPending: 0, mailFailed: 0 };

describe('metrics: the parts (issue 16)', () => {
  test('ok/backlog counts are queried at most once per cache period, however often Prometheus scrapes', async () => {
    const metrics = createPlatformMetrics();
    let now = 1_000_000;
    let queries = 0;
    const storage = {} as Storage;
    metrics.followBacklog(
      storage,
      () => now,
      async () => {
        queries++;
        return { counts: { ...ZERO, webhookDead: queries, mailPending: 7 }, headSeq: 42 };
      },
    );
    const read = async () => parseExposition(await metrics.registry.metrics());
    let samples = await read();
    assert.equal(queries, 1, 'one query serves every gauge of a scrape');
    assert.equal(total(samples, 'accredit_webhook_deliveries_dead'), 1);
    assert.equal(total(samples, 'accredit_mail_outbox_pending'), 7);
    for (let i = 0; i < 5; i++) await read();
    now += BACKLOG_CACHE_MS - 1;
    samples = await read();
    assert.equal(queries, 1, 'scrapes within the cache period reuse the counts');
    now += 1;
    samples = await read();
    assert.equal(queries, 2);
    assert.equal(total(samples, 'accredit_webhook_deliveries_dead'), 2);
  });

  test('fail/a failing count query keeps the last values and is counted, not thrown', async () => {
    const metrics = createPlatformMetrics();
    let now = 0;
    let fail = false;
    metrics.followBacklog(
      {} as Storage,
      () => now,
      async () => {
        if (fail) throw new Error('database gone');
        return { counts: { ...ZERO, ssfQueued: 3 }, headSeq: 1 };
      },
    );
    await metrics.registry.metrics();
    fail = true;
    now += BACKLOG_CACHE_MS;
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(total(samples, 'accredit_ssf_sets_queued'), 3);
    assert.equal(total(samples, 'accredit_metrics_backlog_query_failures'), 1);
  });

  test('ok/token events: grant types and error codes from closed lists; anything else is "other"', async () => {
    const metrics = createPlatformMetrics();
    const provider = new EventEmitter();
    metrics.followProvider(provider);
    const ctx = (grantType: unknown) => ({ oidc: { params: { grant_type: grantType } } });
    provider.emit('grant.success', ctx('client_credentials'));
    provider.emit('grant.success', ctx('refresh_token'));
    provider.emit('grant.error', ctx('evil"}\nlabel'), { error: 'unsupported_grant_type' });
    provider.emit('grant.error', ctx('client_credentials'), { error: 'made_up_error_code_abc' });
    provider.emit('grant.error', {}, new Error('no oidc context'));
    const text = await metrics.registry.metrics();
    const samples = parseExposition(text);
    assert.equal(total(samples, 'accredit_tokens_issued_total', { grant_type: 'client_credentials' }), 1);
    assert.equal(total(samples, 'accredit_tokens_issued_total', { grant_type: 'refresh_token' }), 1);
    assert.equal(
      total(samples, 'accredit_token_errors_total', { grant_type: 'other', error: 'unsupported_grant_type' }),
      1,
    );
    assert.equal(
      total(samples, 'accredit_token_errors_total', { grant_type: 'client_credentials', error: 'other' }),
      1,
    );
    assert.equal(total(samples, 'accredit_token_errors_total', { grant_type: 'none', error: 'other' }), 1);
    assert.ok(!text.includes('evil') && !text.includes('made_up_error_code'));
  });

  test('ok/decision metrics: door defaults to gateway, latency in seconds; fail/label sets are capped', async () => {
    const registry = createMetricsRegistry();
    const record = decisionMetrics(registry);
    record({ decision: 'allow', reason: 'allowed', latency_ms: 3 });
    record({ door: 'ext_authz', decision: 'deny', reason: 'missing_token', latency_ms: 0.2 });
    record({ door: 'ext_authz', decision: 'deny', reason: 'missing_token', latency_ms: Number.NaN });
    for (let i = 0; i < 600; i++) record({ decision: 'deny', reason: `reason_${i}`, latency_ms: 1 });
    const samples = parseExposition(await registry.metrics());
    assert.equal(total(samples, 'accredit_decisions_total', { door: 'gateway', decision: 'allow' }), 1);
    assert.equal(
      total(samples, 'accredit_decisions_total', { door: 'ext_authz', reason: 'missing_token' }),
      2,
    );
    assert.equal(
      total(samples, 'accredit_decision_duration_seconds_sum', { door: 'gateway', decision: 'allow' }),
      0.003,
    );
    assert.equal(total(samples, 'accredit_decision_duration_seconds_count', { door: 'ext_authz' }), 1);
    const series = samples.filter((s) => s.name === 'accredit_decisions_total').length;
    assert.ok(series <= 512, `${series} series`);
  });

  test('ok/OCSP statuses are counted', async () => {
    const metrics = createPlatformMetrics();
    metrics.onOcspAnswer('successful');
    metrics.onOcspAnswer('successful');
    metrics.onOcspAnswer('unauthorized');
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(total(samples, 'accredit_ocsp_responses_total', { status: 'successful' }), 2);
    assert.equal(total(samples, 'accredit_ocsp_responses_total', { status: 'unauthorized' }), 1);
  });

  test('ok/decision lines dropped: read from the decision log on scrape, 0 before it is followed', async () => {
    const metrics = createPlatformMetrics();
    assert.equal(
      total(parseExposition(await metrics.registry.metrics()), 'accredit_decision_lines_dropped_total', {}),
      0,
    );
    let dropped = 3;
    metrics.followDecisionLog({ dropped: () => dropped });
    assert.equal(
      total(parseExposition(await metrics.registry.metrics()), 'accredit_decision_lines_dropped_total', {}),
      3,
    );
    dropped = 10;
    assert.equal(
      total(parseExposition(await metrics.registry.metrics()), 'accredit_decision_lines_dropped_total', {}),
      10,
    );
  });

  test('ok/loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.ok(isLoopbackHost(host), host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'metrics.example.com', '128.0.0.1']) {
      assert.ok(!isLoopbackHost(host), host);
    }
  });

  test('fail/token files: missing, readable by others, too short; ok/mode 0600 and long enough', () => {
    const file = join(root, 'token');
    assert.throws(() => readMetricsToken(file, 'metrics.tokenFile'), /is not a file/);
    writeFileSync(file, TOKEN, { mode: 0o640 });
    assert.throws(() => readMetricsToken(file, 'metrics.tokenFile'), /readable by others; run chmod 600/);
    const short = join(root, 'short');
    writeFileSync(short, 'too-short', { mode: 0o600 });
    assert.throws(() => readMetricsToken(short, 'metrics.tokenFile'), /at least 32 visible ASCII/);
    const good = join(root, 'good');
    writeFileSync(good, `${TOKEN}\n`, { mode: 0o600 });
    assert.equal(readMetricsToken(good, 'metrics.tokenFile'), TOKEN);
  });

  test('fail/config: off loopback without a token file, a token file that does not exist; ok/disabled', () => {
    const dir = mkdtempSync(join(root, 'cfg-'));
    assert.throws(
      () => loadConfig(dir, { ACCREDIT_METRICS_HOST: '10.1.2.3' }),
      (err: unknown) =>
        err instanceof ConfigError && /ACCREDIT_METRICS_HOST: .*needs metrics\.tokenFile/.test(err.message),
    );
    writeFileSync(join(dir, 'accredit.json'), JSON.stringify({ listeners: { metrics: { host: '::' } } }));
    assert.throws(
      () => loadConfig(dir, {}),
      /accredit\.json: listeners\.metrics\.host: .*needs metrics\.tokenFile/,
    );
    assert.throws(
      () => loadConfig(dir, { ACCREDIT_METRICS_TOKEN_FILE: 'nope.token' }),
      /ACCREDIT_METRICS_TOKEN_FILE: .*nope\.token does not exist/,
    );
    const disabled = loadConfig(dir, { ACCREDIT_METRICS_ENABLED: 'false' });
    assert.equal(disabled.listeners.metrics.enabled, false);
    writeFileSync(join(dir, 'm.token'), TOKEN, { mode: 0o600 });
    const withToken = loadConfig(dir, {
      ACCREDIT_METRICS_TOKEN_FILE: 'm.token',
      ACCREDIT_METRICS_PORT: '9999',
    });
    assert.equal(withToken.metrics.tokenFile, join(dir, 'm.token'));
    assert.equal(withToken.listeners.metrics.port, 9999);
    assert.throws(() => loadConfig(dir, { ACCREDIT_METRICS_PORT: '70000' }), /ACCREDIT_METRICS_PORT/);
  });

  test('ok/HEAD /metrics has the headers and no body; a failing collector is a 500 without details', async () => {
    const registry = createMetricsRegistry();
    const { Gauge } = await import('prom-client');
    let broken = false;
    new Gauge({
      name: 'accredit_test_gauge',
      help: 'test',
      registers: [registry],
      collect() {
        if (broken) throw new Error('secret internal detail');
        this.set(1);
      },
    });
    const listener = await startMetricsListener({
      host: '127.0.0.1',
      port: 0,
      registries: [registry],
      limits: DEFAULT_LISTENER_LIMITS,
      logger: pino({ level: 'silent' }),
    });
    try {
      const head = await scrape(listener.url, '/metrics', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      const r = await scrape(listener.url);
      assert.ok(has(r.samples, 'accredit_test_gauge'));
      broken = true;
      const failed = await scrape(listener.url);
      assert.equal(failed.status, 500);
      assert.ok(!failed.text.includes('secret internal detail'));
    } finally {
      await listener.close();
    }
  });
});
