import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { buildLambdaBundle, type LambdaBundle } from '../../../src/doors/aws-lambda/build-bundle.ts';
import { lambdaCore } from '../../../src/doors/aws-lambda/core-factory.ts';
import {
  type IamPolicyResult,
  type LambdaConfig,
  type StartedAuthorizer,
  startLambdaAuthorizer,
} from '../../../src/doors/aws-lambda/index.ts';
import { capturingLogger, csrWithKey, foreignCredential } from '../../gateway/fixture.ts';
import { PlatformProcess, run } from '../../support/platform-process.ts';
import { probeRedis, REDIS_URL } from '../../support/redis.ts';
import { unreachableRedisUrl } from '../../support/two-nodes.ts';
import { arnOf, httpApiEvent, type RequestShape, restApiEvent } from './events.ts';
import { apiGateway, type GatewayAnswer } from './harness.ts';

const STALE_AFTER_MS = 1500;
const redisSkip = await probeRedis();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Partner {
  orgId: string;
  clientId: string;
  serial: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  x5t: string;
  agent: Agent;
}

describe('AWS Lambda authorizer end to end (a real platform, API Gateway simulated)', {
  timeout: 180_000,
}, () => {
  let platform: PlatformProcess;
  let operator: string;
  let ca: string;
  let credential: string;
  let adminAgent: Agent;
  let upstream: Server;
  let upstreamUrl: string;
  const started: StartedAuthorizer[] = [];
  const { logger, lines } = capturingLogger();
  let rest: ReturnType<typeof apiGateway>;
  let httpSimple: ReturnType<typeof apiGateway>;
  let httpIam: ReturnType<typeof apiGateway>;
  const work = mkdtempSync(join(tmpdir(), 'accredit-lambda-e2e-'));

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
    return (text ? JSON.parse(text) : {}) as T;
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
    const certFile = join(work, `${app.client_id}.pem`);
    const keyFile = join(work, `${app.client_id}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    const der = new X509Certificate(cert.certificate_pem).raw;
    return {
      orgId: org.id,
      clientId: app.client_id,
      serial: cert.serial,
      certPem: cert.certificate_pem,
      keyPem,
      certFile,
      keyFile,
      x5t: createHash('sha256').update(der).digest('base64url'),
      agent: new Agent({ connect: { ca, cert: cert.certificate_pem, key: keyPem } }),
    };
  }

  /** The partner's token request, as curl: client credentials over mTLS, so the token is bound to its certificate. */
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

  const call = (
    p: Partner | undefined,
    tok: string | undefined,
    extra: Partial<RequestShape> = {},
  ): RequestShape => ({
    method: 'GET',
    path: '/v1/accounts',
    headers: tok === undefined ? {} : { Authorization: `Bearer ${tok}` },
    ...(p ? { clientCertPem: p.certPem } : {}),
    ...extra,
  });

  const reasonOf = (a: GatewayAnswer) =>
    (a.authorizer.result as { context?: { reason?: string } })?.context?.reason;

  function config(overrides: Partial<LambdaConfig> = {}): LambdaConfig {
    return {
      platformUrl: platform.url,
      ca,
      credential,
      audience: platform.gatewayUrl,
      issuer: undefined,
      jwksUri: undefined,
      responseMode: 'iam',
      policyResource: 'exact',
      // Every invocation polls, so "the next invocation" sees every change that has been answered.
      refreshMs: 0,
      staleAfterMs: STALE_AFTER_MS,
      stripPrefix: undefined,
      logLevel: 'info',
      ...overrides,
    };
  }

  async function authorizer(overrides: Partial<LambdaConfig> = {}): Promise<StartedAuthorizer> {
    const s = await startLambdaAuthorizer(config(overrides), lambdaCore, logger);
    started.push(s);
    return s;
  }

  before(async () => {
    platform = await PlatformProcess.create();
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
    ca = readFileSync(platform.caBundle, 'utf8');
    adminAgent = new Agent({ connect: { ca } });
    const issued = await platform.cli(['gateway', 'credential', 'issue', '--name', 'lambda-1', '--json']);
    assert.equal(issued.code, 0, issued.stderr);
    credential = (JSON.parse(issued.stdout) as { token: string }).token;
    // The integration: echoes the headers it received (the authorizer context, mapped by API Gateway).
    upstream = createServer((req, res) => res.end(JSON.stringify(req.headers)));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const restAuthorizer = await authorizer();
    const simpleAuthorizer = await authorizer({ responseMode: 'simple' });
    rest = apiGateway({ kind: 'rest', handler: (e) => restAuthorizer.authorize(e), upstream: upstreamUrl });
    httpSimple = apiGateway({
      kind: 'http',
      simpleResponses: true,
      handler: (e) => simpleAuthorizer.authorize(e),
      upstream: upstreamUrl,
    });
    httpIam = apiGateway({
      kind: 'http',
      handler: (e) => restAuthorizer.authorize(e),
      upstream: upstreamUrl,
    });
  });

  after(async () => {
    const latencies = lines
      .map((l) => JSON.parse(l) as { door?: string; latency_ms?: number })
      .filter((l) => l.door === 'aws-lambda' && typeof l.latency_ms === 'number')
      .map((l) => l.latency_ms!)
      .sort((a, b) => a - b);
    if (latencies.length > 0) {
      const q = (x: number) => latencies[Math.min(latencies.length - 1, Math.floor(x * latencies.length))]!;
      console.log(
        `# aws-lambda: ${latencies.length} decisions, ms per invocation (event → result, a feed poll each): ` +
          `p50 ${q(0.5).toFixed(2)}, p99 ${q(0.99).toFixed(2)}`,
      );
    }
    for (const s of started) await s.close();
    await platform?.stop();
    platform?.cleanup();
    upstream?.close();
    await adminAgent?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('ok/allow, REST and HTTP API (simple and IAM): the upstream gets the identity; the policy names the exact ARN', async () => {
    const p = await newPartner('Lambda Bank');
    const tok = await token(p);
    for (const [name, gateway] of [
      ['rest', rest],
      ['http simple', httpSimple],
      ['http iam', httpIam],
    ] as const) {
      const r = await gateway(call(p, tok));
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.authorizer)}`);
      assert.equal(r.upstreamHeaders?.['x-accredit-client-id'], p.clientId, name);
      assert.equal(r.upstreamHeaders?.['x-accredit-org-id'], p.orgId, name);
      assert.equal(r.upstreamHeaders?.['x-accredit-cert-x5t-s256'], p.x5t, name);
      assert.match(String(r.upstreamHeaders?.['x-accredit-scopes']), /accounts:read/, name);
      assert.match(String(r.upstreamHeaders?.['x-accredit-jti']), /.+/, name);
      assert.equal(r.context?.route, '/v1/accounts', name);
    }
    const policy = (await rest(call(p, tok))).authorizer.result as IamPolicyResult;
    assert.equal(policy.principalId, p.clientId);
    assert.deepEqual(policy.policyDocument.Statement, [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arnOf('test', 'GET', '/v1/accounts') },
    ]);
    const decisions = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.door === 'aws-lambda');
    const line = decisions.find((l) => l.client_id === p.clientId && l.decision === 'allow');
    assert.ok(line, 'the decision line of the door');
    assert.equal(line.org_id, p.orgId);
    assert.equal(line.cert_x5t_s256, p.x5t);
    assert.equal(line.route, '/v1/accounts');
    assert.match(String(line.jti), /.+/);
    assert.equal(typeof line.latency_ms, 'number');
    assert.ok(
      lines.every((l) => !l.includes(tok)),
      'the token is never logged',
    );
    assert.ok(
      lines.every((l) => !l.includes(credential)),
      'the enforcement credential is never logged',
    );
  });

  test('fail/insufficient scope: 403 (REST Deny, HTTP API isAuthorized false), reason in the context', async () => {
    await admin('POST', '/catalog/operations', {
      method: 'POST',
      path_pattern: '/v1/lambda-payments',
      scope: 'accounts:write',
    });
    const p = await newPartner('Scope Bank');
    const tok = await token(p);
    const shape = call(p, tok, { method: 'POST', path: '/v1/lambda-payments' });
    const r = await rest(shape);
    assert.equal(r.status, 403);
    assert.equal(reasonOf(r), 'insufficient_scope');
    const policy = r.authorizer.result as IamPolicyResult;
    assert.deepEqual(policy.policyDocument.Statement[0], {
      Action: 'execute-api:Invoke',
      Effect: 'Deny',
      Resource: arnOf('test', 'POST', '/v1/lambda-payments'),
    });
    const h = await httpSimple(shape);
    assert.equal(h.status, 403);
    assert.equal(reasonOf(h), 'insufficient_scope');
  });

  test('fail/garbage and missing tokens: REST 401 Unauthorized; HTTP API 403 with the reason', async () => {
    const p = await newPartner('Garbage Bank');
    for (const tok of ['garbage', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', undefined]) {
      const r = await rest(call(p, tok));
      assert.equal(r.status, 401, String(tok));
      assert.equal(r.authorizer.error, 'Unauthorized');
      const h = await httpSimple(call(p, tok));
      assert.equal(h.status, 403);
      assert.match(String(reasonOf(h)), /^token_/);
    }
  });

  test('fail/certificates: none, from a foreign CA, unparseable, or another client’s than the token’s', async () => {
    const p = await newPartner('Cert Bank');
    const other = await newPartner('Other Bank');
    const tok = await token(p);
    const foreign = await foreignCredential(p.clientId, p.orgId);
    const unparseable = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----';
    const cases: Array<[string, RequestShape, number, string]> = [
      ['none', call(undefined, tok), 403, 'client_certificate_required'],
      ['foreign', { ...call(p, tok), clientCertPem: foreign.certPem }, 403, 'certificate_untrusted'],
      ['unparseable', { ...call(p, tok), clientCertPem: unparseable }, 403, 'certificate_untrusted'],
      ['another client', call(other, tok), 401, 'token_binding_mismatch'],
    ];
    for (const [name, shape, status, reason] of cases) {
      const r = await rest(shape);
      assert.equal(r.status, status, name);
      if (status === 403) assert.equal(reasonOf(r), reason, name);
      const h = await httpSimple(shape);
      assert.equal(h.status, 403, name);
      assert.equal(reasonOf(h), reason, name);
    }
    // An unparseable certificate's refusal is a decision line of the request like any other.
    const refusedLines = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter(
        (l) => l.door === 'aws-lambda' && l.reason === 'certificate_untrusted' && l.decision === 'deny',
      );
    assert.ok(refusedLines.some((l) => l.method === 'GET' && l.path === '/v1/accounts' && l.status === 403));
  });

  test('ok/revocation of the token, the application and the certificate applies on the next invocation', async () => {
    const p = await newPartner('Revoke Bank');
    const first = await token(p);
    assert.equal((await rest(call(p, first))).status, 200);
    const revoked = await request(`${platform.mtlsUrl}/token/revocation`, {
      method: 'POST',
      dispatcher: p.agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${first}&client_id=${encodeURIComponent(p.clientId)}`,
    });
    await revoked.body.text();
    assert.equal(revoked.statusCode, 200);
    const afterToken = await rest(call(p, first));
    assert.equal(afterToken.status, 401, 'the revoked token is refused on the next invocation');
    assert.equal(reasonOf(await httpSimple(call(p, first))), 'token_revoked');

    const second = await token(p);
    assert.equal((await httpSimple(call(p, second))).status, 200);
    await admin('POST', `/applications/${p.clientId}/suspend`, {});
    const suspended = await httpSimple(call(p, second));
    assert.equal(suspended.status, 403);
    assert.equal(reasonOf(suspended), 'client_suspended');
    await admin('POST', `/applications/${p.clientId}/activate`, {});
    assert.equal((await httpSimple(call(p, second))).status, 200);

    await admin('POST', `/certificates/${p.serial}/revoke`, {});
    const certRevoked = await httpSimple(call(p, second));
    assert.equal(certRevoked.status, 403);
    assert.equal(reasonOf(certRevoked), 'certificate_revoked');
    assert.notEqual((await rest(call(p, second))).status, 200);
  });

  test('ok/the package export `accredit/aws-lambda` handler: configured from the environment, lazily, once', async () => {
    const p = await newPartner('Export Bank');
    const tok = await token(p);
    const env = {
      ACCREDIT_PLATFORM_URL: platform.url,
      ACCREDIT_CA_BUNDLE: platform.caBundle,
      ACCREDIT_ENFORCEMENT_CREDENTIAL: credential,
      ACCREDIT_AUDIENCE: platform.gatewayUrl,
      ACCREDIT_REFRESH_MS: '0',
      ACCREDIT_LOG_LEVEL: 'warn',
    };
    Object.assign(process.env, env);
    const { handler } = await import('accredit/aws-lambda');
    const gateway = apiGateway({ kind: 'rest', handler: handler as never, upstream: upstreamUrl });
    const r = await gateway(call(p, tok));
    assert.equal(r.status, 200, JSON.stringify(r.authorizer));
    assert.equal(r.context?.client_id, p.clientId);
    assert.equal((await gateway(call(p, 'garbage'))).status, 401);
  });

  test('ok/the esbuild bundle loads in a fresh Node process and answers an event; no platform role is inside', async () => {
    const out = join(work, 'bundle');
    const bundle: LambdaBundle = await buildLambdaBundle(out);
    const forbidden = bundle.inputs.filter((i) =>
      /src\/(platform|directory|storage|pki|authorization-server|federation|audit|cli)\/|node_modules\/(pg|kysely|fastify|oidc-provider)\//.test(
        i,
      ),
    );
    assert.deepEqual(forbidden, []);
    assert.ok(readFileSync(join(out, 'README.md'), 'utf8').includes('index.handler'));
    const p = await newPartner('Bundle Bank');
    const tok = await token(p);
    const script = `
      const chunks = [];
      for await (const c of process.stdin) chunks.push(c);
      const { handler } = await import(${JSON.stringify(bundle.file)});
      const events = JSON.parse(Buffer.concat(chunks).toString());
      const results = [];
      for (const e of events) {
        try { results.push(await handler(e, {})); } catch (err) { results.push({ error: err.message }); }
      }
      process.stdout.write(JSON.stringify(results));
      process.exit(0);
    `;
    const events = [
      restApiEvent(call(p, tok)),
      httpApiEvent(call(p, 'garbage')),
      restApiEvent(call(p, 'garbage')),
    ];
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: out,
      env: {
        PATH: process.env.PATH ?? '',
        ACCREDIT_PLATFORM_URL: platform.url,
        ACCREDIT_CA_BUNDLE: ca,
        ACCREDIT_ENFORCEMENT_CREDENTIAL: credential,
        ACCREDIT_AUDIENCE: platform.gatewayUrl,
        ACCREDIT_RESPONSE_MODE: 'simple',
        ACCREDIT_LOG_LEVEL: 'warn',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.stdin.end(JSON.stringify(events));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    const [allowed, httpDenied, restDenied] = JSON.parse(stdout) as Array<Record<string, unknown>>;
    const allowPolicy = allowed as unknown as IamPolicyResult;
    assert.equal(allowPolicy.principalId, p.clientId, stdout + stderr);
    assert.equal(allowPolicy.policyDocument.Statement[0]!.Effect, 'Allow');
    assert.equal(httpDenied!.isAuthorized, false);
    assert.deepEqual(restDenied, { error: 'Unauthorized' });
    assert.doesNotMatch(stdout + stderr, new RegExp(credential));
  });

  test('ok/two instances on one Redis admit the quota together, never 2 × quota; the 429 is a Deny with Retry-After', {
    skip: redisSkip,
  }, async () => {
    const p = await newPartner('Quota Bank');
    const tok = await token(p);
    await admin('PUT', `/applications/${p.clientId}/rate-limit`, { limits: [{ quota: 5, window: 60 }] });
    const [one, two] = await Promise.all([
      authorizer({ redisUrl: REDIS_URL }),
      authorizer({ redisUrl: REDIS_URL }),
    ]);
    const gateways = [one, two].map((s) =>
      apiGateway({ kind: 'rest', handler: (e) => s.authorize(e), upstream: upstreamUrl }),
    );
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (gateways[i % 2] as (typeof gateways)[0])(call(p, tok))),
    );
    assert.equal(answers.filter((a) => a.status === 200).length, 5, answers.map((a) => a.status).join(','));
    const refused = answers.filter((a) => a.status !== 200);
    assert.equal(refused.length, 11);
    for (const r of refused) {
      assert.equal(r.status, 403);
      assert.equal(reasonOf(r), 'rate_limited');
      const context = (r.authorizer.result as { context?: Record<string, unknown> }).context;
      assert.ok(Number(context?.retry_after) > 0, JSON.stringify(context));
      assert.match(String(context?.ratelimit), /^"client-60s";r=0;t=\d+$/);
    }
    // Both instances refused some: the count is shared, not each instance's own.
    const refusedBy = (i: number) => answers.filter((a, j) => j % 2 === i && a.status !== 200).length;
    assert.ok(refusedBy(0) > 0 && refusedBy(1) > 0, `${refusedBy(0)} / ${refusedBy(1)}`);
  });

  test('fail/Redis unreachable: fail-open admits unchecked (logged, marked), fail-closed denies rate_limit_unavailable', {
    skip: redisSkip,
  }, async () => {
    const p = await newPartner('Outage Bank');
    const tok = await token(p);
    await admin('PUT', `/applications/${p.clientId}/rate-limit`, { limits: [{ quota: 1, window: 60 }] });
    // A password in the URL: it must appear in no log line.
    const down = (await unreachableRedisUrl()).replace('redis://', 'redis://:pw-lambda-secret@');
    const open = await authorizer({ redisUrl: down });
    const closed = await authorizer({ redisUrl: down, rateLimitOnStoreError: 'closed' });
    const viaOpen = apiGateway({ kind: 'rest', handler: (e) => open.authorize(e), upstream: upstreamUrl });
    const viaClosed = apiGateway({
      kind: 'rest',
      handler: (e) => closed.authorize(e),
      upstream: upstreamUrl,
    });
    for (let i = 0; i < 3; i++)
      assert.equal((await viaOpen(call(p, tok))).status, 200, 'over the quota, unchecked');
    const unchecked = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.door === 'aws-lambda' && l.client_id === p.clientId && l.decision === 'allow');
    assert.equal(unchecked.length, 3);
    for (const l of unchecked) assert.equal(l.rate_limit, 'unchecked');
    assert.ok(lines.some((l) => l.includes('rate limit store failed: requests are admitted unchecked')));
    const denied = await viaClosed(call(p, tok));
    assert.equal(denied.status, 403);
    assert.equal(reasonOf(denied), 'rate_limit_unavailable');
    assert.ok(lines.some((l) => l.includes('rate limits: Redis connection error')));
    assert.ok(
      lines.every((l) => !l.includes('pw-lambda-secret')),
      'the Redis password is never logged',
    );
  });

  test('fail/the platform gone: refused (feed_stale) once the staleness bound has passed, never before', async () => {
    const p = await newPartner('Stale Bank');
    const tok = await token(p);
    assert.equal((await rest(call(p, tok))).status, 200);
    await platform.stop();
    const stopped = Date.now();
    const within = await rest(call(p, tok));
    assert.equal(within.status, 200, 'within the bound the last state serves');
    await sleep(STALE_AFTER_MS - (Date.now() - stopped) + 200);
    const r = await rest(call(p, tok));
    assert.equal(r.status, 403);
    assert.equal(reasonOf(r), 'feed_stale');
    const h = await httpSimple(call(p, tok));
    assert.equal((h.authorizer.result as { isAuthorized: boolean }).isAuthorized, false);
    assert.equal(reasonOf(h), 'feed_stale');
    assert.ok(lines.some((l) => l.includes('enforcement feed stale: refusing every request')));
  });
});
