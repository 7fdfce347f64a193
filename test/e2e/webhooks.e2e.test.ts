import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Webhook } from 'standardwebhooks';
import type { Agent } from 'undici';
import { initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { type CallResult, call, capturingLogger, clientAgent, serverTlsFrom } from '../gateway/fixture.ts';
import { freePort } from '../support/platform-process.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-webhooks-e2e-'));

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  answered: number;
}

/** A real HTTPS receiver: records every request; answers from a per-path script, then 200. */
class Receiver {
  readonly received: Received[] = [];
  readonly script = new Map<string, number[]>();
  private server: Server | undefined;
  private readonly tls: { cert: string; key: string };
  readonly port: number;
  constructor(tls: { cert: string; key: string }, port: number) {
    this.tls = tls;
    this.port = port;
  }
  get url() {
    return `https://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.server = createServer(this.tls, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const answered = this.script.get(path)?.shift() ?? 200;
        this.received.push({ path, headers: req.headers as Record<string, string>, body, answered });
        res.writeHead(answered, { 'content-type': 'text/plain' });
        res.end(answered < 300 ? 'ok' : 'not now');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  on(path: string, type: string): Received[] {
    return this.received.filter((r) => r.path === path && eventTypeOf(r) === type);
  }
}

function eventTypeOf(r: Received): string | undefined {
  const text =
    r.headers['content-type'] === 'application/jwt'
      ? Buffer.from(r.body.split('.')[1] ?? '', 'base64url').toString('utf8')
      : r.body;
  try {
    return (JSON.parse(text) as { type?: string }).type;
  } catch {
    return undefined;
  }
}

/** Waits for a condition the platform reaches on its own (no timing asserted; the test timeout bounds it). */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('webhooks against a real HTTPS receiver', { timeout: 120_000 }, () => {
  const dir = join(root, 'data');
  let platform: PlatformHandle | undefined;
  let agent: Agent | undefined;
  let receiver: Receiver | undefined;
  after(async () => {
    await receiver?.stop();
    await agent?.close();
    await platform?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('signed, retried, kept across a restart, and refused for private addresses unless allowed', async () => {
    const ports = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_METRICS_ENABLED: 'false',
    };
    const allowing = {
      ...ports,
      ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
      ACCREDIT_WEBHOOKS_POLL_INTERVAL_MS: '200',
    };
    const logs: string[][] = [];
    const init = await initPlatform({ dataDir: dir, env: allowing });
    const operator = readFileSync(init.operatorTokenFile as string, 'utf8').trim();
    const start = async (env: Record<string, string>) => {
      const captured = capturingLogger();
      platform = await startPlatform({ dataDir: dir, env, logger: captured.logger });
      logs.push(captured.lines);
      agent = clientAgent(platform.ca.chainPem);
      return platform;
    };
    let p = await start(allowing);
    const admin = async (method: string, path: string, body?: unknown): Promise<CallResult> =>
      call(agent!, p.urls.public, `/admin/v1${path}`, { method, token: operator, ...(body ? { body } : {}) });

    receiver = new Receiver(await serverTlsFrom(p.ca), await freePort());
    await receiver.start();

    const org = await admin('POST', '/organisations', { name: 'Acme Bank' });
    assert.equal(org.status, 201);
    const orgId = org.json.id as string;
    const jws = await admin('POST', '/webhooks', {
      url: `${receiver.url}/jws`,
      event_types: ['organisation.suspended'],
      org_id: orgId,
      scheme: 'jws',
    });
    assert.equal(jws.status, 201, jws.text);
    assert.equal(jws.json.secret, undefined);
    const hmac = await admin('POST', '/webhooks', {
      url: `${receiver.url}/hmac`,
      event_types: ['*'],
      scheme: 'standard-webhooks',
      description: 'everything',
    });
    assert.equal(hmac.status, 201, hmac.text);
    assert.equal(hmac.headers['cache-control'], 'no-store');
    const secret = hmac.json.secret as string;
    const listed = await admin('GET', '/webhooks');
    assert.ok(!listed.text.includes(secret.slice(6)), 'the secret is never shown again');
    assert.equal(
      (
        await admin('POST', '/webhooks', {
          url: 'https://x.example/',
          event_types: ['*'],
          scheme: 'jws',
          org_id: 'nope',
        })
      ).status,
      404,
    );

    // The API refuses what it should, as RFC 9457 problems.
    const anonymous = await call(agent!, p.urls.public, '/admin/v1/webhooks');
    assert.equal(anonymous.status, 401);
    const unknownType = await admin('POST', '/webhooks', {
      url: `${receiver.url}/x`,
      event_types: ['org.renamed'],
      scheme: 'jws',
    });
    assert.equal(unknownType.status, 400);
    assert.match(String(unknownType.headers['content-type']), /^application\/problem\+json/);
    const extra = await admin('POST', '/webhooks', {
      url: `${receiver.url}/x`,
      event_types: ['*'],
      scheme: 'jws',
      secret: 'mine',
    });
    assert.equal(extra.status, 400, 'no caller-chosen secret');
    const patched = await admin('PATCH', `/webhooks/${jws.json.id}`, {
      event_types: ['organisation.suspended', 'organisation.activated'],
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json.event_types, ['organisation.suspended', 'organisation.activated']);
    assert.equal(
      (await admin('PATCH', `/webhooks/${jws.json.id}`, { event_types: ['organisation.suspended'] })).status,
      200,
    );

    // The HMAC receiver fails once: the retry carries the same webhook-id.
    receiver.script.set('/hmac', [500]);
    assert.equal((await admin('POST', `/organisations/${orgId}/suspend`, { reason: 'test' })).status, 200);
    const [signed] = await until('the JWS delivery', () => {
      const got = receiver!.on('/jws', 'organisation.suspended');
      return got.length === 1 ? got : undefined;
    });
    const hmacTries = await until('the HMAC retry', () => {
      const got = receiver!.on('/hmac', 'organisation.suspended');
      return got.length === 2 ? got : undefined;
    });

    // JWS: verified with jose against the platform's published keys.
    const keys = await call(agent!, p.urls.public, '/events/jwks');
    const { payload, protectedHeader } = await jwtVerify(
      signed!.body,
      createLocalJWKSet(keys.json as never),
      {
        issuer: p.config.publicUrl,
        audience: `${receiver.url}/jws`,
        typ: 'webhook+jwt',
      },
    );
    assert.equal(payload.type, 'organisation.suspended');
    assert.equal(payload.org_id, orgId);
    assert.deepEqual(payload.subject, { kind: 'organisation', id: orgId });
    assert.equal(payload.jti, signed!.headers['webhook-id']);
    assert.ok(protectedHeader.kid);

    // Standard Webhooks: verified with the secret shown at creation; both attempts are the same event.
    assert.deepEqual(
      hmacTries.map((r) => r.answered),
      [500, 200],
    );
    assert.equal(hmacTries[0]!.headers['webhook-id'], hmacTries[1]!.headers['webhook-id']);
    assert.equal(hmacTries[0]!.headers['webhook-id'], payload.id, 'one event, one id, whatever the scheme');
    const verified = new Webhook(secret).verify(hmacTries[1]!.body, hmacTries[1]!.headers) as {
      type: string;
    };
    assert.equal(verified.type, 'organisation.suspended');
    assert.throws(() =>
      new Webhook(secret).verify(hmacTries[1]!.body.replace(orgId, 'other'), hmacTries[1]!.headers),
    );

    // The delivery log shows both attempts.
    const hmacId = hmac.json.id as string;
    const log = await admin('GET', `/webhooks/${hmacId}/deliveries`);
    const suspended = (log.json.items as Array<Record<string, unknown>>).find(
      (d) => d.event_type === 'organisation.suspended',
    )!;
    assert.equal(suspended.status, 'delivered');
    const detail = await admin('GET', `/webhooks/${hmacId}/deliveries/${suspended.id}`);
    assert.deepEqual(
      (detail.json.attempt_log as Array<{ status_code: number }>).map((a) => a.status_code),
      [500, 200],
    );

    // A ping reaches the receiver whatever the filters.
    assert.equal((await admin('POST', `/webhooks/${jws.json.id}/test`)).status, 202);
    await until('the ping', () => receiver!.on('/jws', 'webhook.ping').length === 1 || undefined);

    // The receiver goes down: the activation fails and waits for its retry while the platform stops.
    await receiver.stop();
    assert.equal((await admin('POST', `/organisations/${orgId}/activate`, {})).status, 200);
    await until('a failed attempt', async () => {
      const items = (await admin('GET', `/webhooks/${hmacId}/deliveries?status=pending`)).json
        .items as Array<{
        event_type: string;
        last_error: string | null;
      }>;
      return items.some((d) => d.event_type === 'organisation.activated' && d.last_error) || undefined;
    });
    // An event committed just before the stop, perhaps not yet queued: the cursor keeps it.
    assert.equal((await admin('POST', `/organisations/${orgId}/suspend`, {})).status, 200);
    await agent!.close();
    await p.stop();
    platform = undefined;

    await receiver.start();
    p = await start(allowing);
    await until(
      'the activation after the restart',
      () => receiver!.on('/hmac', 'organisation.activated').length >= 1 || undefined,
    );
    await until(
      'the second suspension',
      () =>
        (receiver!.on('/hmac', 'organisation.suspended').length === 3 &&
          receiver!.on('/jws', 'organisation.suspended').length === 2) ||
        undefined,
    );
    await p.webhooks.dispatcher.run();
    // Nothing doubled: each event reached each receiver once with a 2xx.
    const delivered = receiver.received.filter((r) => r.answered < 300);
    const keysSeen = delivered.map((r) => `${r.path} ${r.headers['webhook-id']}`);
    assert.equal(new Set(keysSeen).size, keysSeen.length, 'no event delivered twice');
    assert.equal(receiver.on('/hmac', 'organisation.activated').length, 1);

    // Without the allowance: loopback refused at subscription time, and at connect time for what is queued.
    await agent!.close();
    await p.stop();
    platform = undefined;
    const strict = {
      ...ports,
      ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: '1',
      ACCREDIT_WEBHOOKS_POLL_INTERVAL_MS: '200',
    };
    p = await start(strict);
    const refused = await admin('POST', '/webhooks', {
      url: `${receiver.url}/new`,
      event_types: ['*'],
      scheme: 'jws',
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.code, 'webhook_url_refused');
    assert.equal((refused.json.errors as Array<{ code: string }>)[0]!.code, 'loopback_refused', refused.text);
    const before = receiver.received.length;
    assert.equal((await admin('POST', `/webhooks/${hmacId}/test`)).status, 202);
    const dead = await until('the dead letter', async () => {
      const items = (await admin('GET', '/webhooks/dead-letter')).json.items as Array<
        Record<string, unknown>
      >;
      return items.find((d) => d.event_type === 'webhook.ping' && d.subscription_id === hmacId);
    });
    assert.match(String(dead.last_error), /^loopback_refused/);
    assert.equal(dead.attempts, 2);
    assert.equal(receiver.received.length, before, 'nothing was sent');
    const again = await admin('POST', `/webhooks/${hmacId}/deliveries/${dead.id}/redeliver`);
    assert.equal(again.status, 202);
    assert.equal(again.json.status, 'pending');
    assert.equal((await admin('POST', `/webhooks/${hmacId}/deliveries/${dead.id}/redeliver`)).status, 409);
    assert.equal((await admin('DELETE', `/webhooks/${hmacId}`)).status, 200);
    assert.equal((await admin('GET', `/webhooks/${hmacId}`)).status, 404);
    // The platform logged the failed attempts, never a secret.
    const logged = logs.flat().join('\n');
    assert.match(logged, /webhook delivery failed; retry scheduled/);
    assert.ok(!logged.includes(secret.slice(6)), 'no secret in the logs');
  });
});
