import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { lambdaCore } from '../../../src/doors/aws-lambda/core-factory.ts';
import { type StartedAuthorizer, startLambdaAuthorizer } from '../../../src/doors/aws-lambda/index.ts';
import { capturingLogger, csrWithKey } from '../../gateway/fixture.ts';
import { CLI, PlatformProcess, type RunResult, run } from '../../support/platform-process.ts';
import { type ApiGatewayFront, startApiGatewayFront } from './api-gateway-front.ts';

interface JsonCase {
  id: string;
  status: 'pass' | 'fail' | 'skip';
  expected: string;
  got: string;
  delayMs?: number;
}

const ALL_CASES = [
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
// An HTTP API's Lambda authorizer can only allow (→ the integration) or deny (→ 403): never 401.
const EXPECTING_401 = ['missing-token', 'garbage-token', 'expired-token'];
const FOREIGN_ACCOUNT = 'acct-of-another-organisation';

describe('the onboarding test plan through the Lambda authorizer behind a simulated API Gateway', {
  timeout: 240_000,
}, () => {
  let platform: PlatformProcess;
  let operator: string;
  let operatorFile: string;
  let adminAgent: Agent;
  let credential: string;
  let upstream: Server;
  let caFile: string;
  const fronts: ApiGatewayFront[] = [];
  const started: StartedAuthorizer[] = [];
  const { logger } = capturingLogger();
  let restFront: ApiGatewayFront;
  let httpFront: ApiGatewayFront;

  async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await request(`${platform.url}/admin/v1${path}`, {
      method: method as 'GET',
      dispatcher: adminAgent,
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await res.body.text();
    assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text) as T;
  }

  async function newPartner(name: string): Promise<{ clientId: string; certFile: string; keyFile: string }> {
    const org = await admin<{ id: string }>('POST', '/organisations', { name });
    const app = await admin<{ client_id: string }>('POST', '/applications', {
      org_id: org.id,
      name: 'Payments',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await admin<{ certificate_pem: string }>(
      'POST',
      `/applications/${app.client_id}/certificates`,
      {
        csr: csrPem,
      },
    );
    const certFile = join(platform.dir, `${app.client_id}.pem`);
    const keyFile = join(platform.dir, `${app.client_id}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return { clientId: app.client_id, certFile, keyFile };
  }

  async function testplan(
    front: ApiGatewayFront,
    partner: string,
  ): Promise<{ result: RunResult; byId: Map<string, JsonCase> }> {
    const p = await newPartner(partner);
    const result = await run(
      process.execPath,
      [
        CLI,
        'testplan',
        'run',
        '--issuer',
        platform.url,
        '--api',
        front.url,
        '--cert',
        p.certFile,
        '--key',
        p.keyFile,
        '--client-id',
        p.clientId,
        '--ca',
        caFile,
        '--path',
        '/v1/accounts',
        '--forbidden-path',
        'POST /v1/payments',
        '--owned-path',
        '/v1/accounts/{id}',
        '--foreign-id',
        FOREIGN_ACCOUNT,
        '--admin-url',
        platform.url,
        '--operator-token-file',
        operatorFile,
        '--destructive',
        '--json',
      ],
      { ACCREDIT_DIR: '', ACCREDIT_ISSUER: '', ACCREDIT_CA_BUNDLE: '' },
    );
    const report = JSON.parse(result.stdout) as { cases: JsonCase[] };
    return { result, byId: new Map(report.cases.map((c) => [c.id, c])) };
  }

  before(async () => {
    platform = await PlatformProcess.create();
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    operatorFile = join(platform.dir, 'operator-token');
    operator = readFileSync(operatorFile, 'utf8').trim();
    const ca = readFileSync(platform.caBundle, 'utf8');
    adminAgent = new Agent({ connect: { ca } });
    const issued = await platform.cli(['gateway', 'credential', 'issue', '--name', 'lambda-plan', '--json']);
    assert.equal(issued.code, 0, issued.stderr);
    credential = (JSON.parse(issued.stdout) as { token: string }).token;

    // The integration: an API that answers an object only to the organisation API Gateway says is calling.
    upstream = createServer((req, res) => {
      const org = req.headers['x-accredit-org-id'];
      const account = /^\/v1\/accounts\/([^/?]+)/.exec(req.url ?? '')?.[1];
      if (account !== undefined && (account === FOREIGN_ACCOUNT || org === undefined)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"code":"not_found"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(account === undefined ? '[]' : JSON.stringify({ id: account, org_id: org }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    // The custom domain's own certificate (a self-signed one for localhost), trusted by the partner beside the CA.
    const key = join(platform.dir, 'apigw.key.pem');
    const cert = join(platform.dir, 'apigw.pem');
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
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const tls = { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
    caFile = join(platform.dir, 'partner-trust.pem');
    writeFileSync(caFile, `${ca}\n${tls.cert}`);

    const config = {
      platformUrl: platform.url,
      ca,
      credential,
      audience: platform.gatewayUrl,
      issuer: undefined,
      jwksUri: undefined,
      policyResource: 'exact' as const,
      refreshMs: 0,
      staleAfterMs: 15_000,
      stripPrefix: undefined,
      logLevel: 'info',
    };
    const iam = await startLambdaAuthorizer({ ...config, responseMode: 'iam' }, lambdaCore, logger);
    const simple = await startLambdaAuthorizer({ ...config, responseMode: 'simple' }, lambdaCore, logger);
    started.push(iam, simple);
    // The truststore is the platform CA bundle, as `accredit edge export --for aws` writes it.
    restFront = await startApiGatewayFront({
      kind: 'rest',
      handler: (e) => iam.authorize(e),
      upstream: upstreamUrl,
      truststore: ca,
      tls,
    });
    httpFront = await startApiGatewayFront({
      kind: 'http',
      simpleResponses: true,
      handler: (e) => simple.authorize(e),
      upstream: upstreamUrl,
      truststore: ca,
      tls,
    });
    fronts.push(restFront, httpFront);
  });

  after(async () => {
    for (const f of fronts) await f.close();
    for (const s of started) await s.close();
    await platform?.stop();
    platform?.cleanup();
    upstream?.close();
    await adminAgent?.close();
  });

  test('ok/REST API (REQUEST authorizer, IAM policy): every case of the plan passes, revocations included', async (t) => {
    const { result, byId } = await testplan(restFront, 'Rest Plan Bank');
    assert.deepEqual([...byId.keys()], ALL_CASES, result.stdout + result.stderr);
    for (const c of byId.values()) assert.equal(c.status, 'pass', JSON.stringify(c));
    assert.equal(result.code, 0, result.stderr);
    for (const id of ['revoked-token', 'revoked-certificate', 'suspended-application'])
      assert.ok(byId.get(id)!.delayMs! <= 2000, JSON.stringify(byId.get(id)));
    t.diagnostic(`REST: ${[...byId.values()].map((c) => `${c.id} ${c.got}`).join('; ')}`);
  });

  test('fail/HTTP API (payload 2.0, simple responses): all pass but the three cases expecting 401, answered 403', async (t) => {
    const { result, byId } = await testplan(httpFront, 'Http Plan Bank');
    assert.deepEqual([...byId.keys()], ALL_CASES, result.stdout + result.stderr);
    for (const c of byId.values()) {
      if (EXPECTING_401.includes(c.id)) {
        assert.equal(c.status, 'fail', JSON.stringify(c));
        assert.match(c.got, /^403/, JSON.stringify(c));
      } else assert.equal(c.status, 'pass', JSON.stringify(c));
    }
    assert.equal(result.code, 1);
    t.diagnostic(`HTTP API: ${[...byId.values()].map((c) => `${c.id} ${c.status} ${c.got}`).join('; ')}`);
  });
});
