import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { csrWithKey } from '../gateway/fixture.ts';
import { CLI, PlatformProcess, type RunResult, run } from '../support/platform-process.ts';
import { assertWellFormedJunit } from './junit-structure.ts';

interface Partner {
  clientId: string;
  orgId: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

interface JsonCase {
  id: string;
  status: 'pass' | 'fail' | 'skip';
  expected: string;
  got: string;
  ms: number;
  delayMs?: number;
}

const NON_DESTRUCTIVE = [
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
];
const REVOCATION = ['revoked-token', 'revoked-certificate', 'suspended-application'];

describe('accredit testplan run against a real platform, its own gateway as the door', {
  timeout: 180_000,
}, () => {
  let platform: PlatformProcess;
  let ca: string;
  let adminAgent: Agent;
  let operator: string;
  let operatorFile: string;
  let reader: Partner;
  let foreignAccountId: string;

  async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await request(`${platform.url}/admin/v1${path}`, {
      method: method as 'GET',
      dispatcher: adminAgent,
      headers: {
        authorization: `Bearer ${operator}`,
        ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
      },
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.body.text();
    assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text) as T;
  }

  async function newPartner(name: string, roles: string[]): Promise<Partner> {
    const org = await admin<{ id: string }>('POST', '/organisations', { name });
    const app = await admin<{ client_id: string }>('POST', '/applications', {
      org_id: org.id,
      name: 'Payments',
      roles,
      auth_method: 'tls_client_auth',
    });
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await admin<{ certificate_pem: string }>(
      'POST',
      `/applications/${app.client_id}/certificates`,
      { csr: csrPem },
    );
    const certFile = join(platform.dir, `${app.client_id}.pem`);
    const keyFile = join(platform.dir, `${app.client_id}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return {
      clientId: app.client_id,
      orgId: org.id,
      certFile,
      keyFile,
      certPem: cert.certificate_pem,
      keyPem,
    };
  }

  /** The inputs a partner (and, for revocation, its operator) would give. */
  function args(p: Partner, extra: string[] = []): string[] {
    return [
      CLI,
      'testplan',
      'run',
      '--issuer',
      platform.url,
      '--api',
      platform.gatewayUrl,
      '--cert',
      p.certFile,
      '--key',
      p.keyFile,
      '--client-id',
      p.clientId,
      '--ca',
      platform.caBundle,
      '--path',
      '/v1/accounts',
      '--forbidden-path',
      'POST /v1/payments',
      '--owned-path',
      '/v1/accounts/{id}',
      '--foreign-id',
      foreignAccountId,
      ...extra,
    ];
  }

  const testplan = (argv: string[]): Promise<RunResult> =>
    run(process.execPath, argv, { ACCREDIT_DIR: '', ACCREDIT_ISSUER: '', ACCREDIT_CA_BUNDLE: '' });

  function cases(result: RunResult): Map<string, JsonCase> {
    const report = JSON.parse(result.stdout) as { cases: JsonCase[] };
    return new Map(report.cases.map((c) => [c.id, c]));
  }

  before(async () => {
    platform = await PlatformProcess.create();
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
    operatorFile = join(platform.dir, 'operator-token');
    ca = readFileSync(platform.caBundle, 'utf8');
    adminAgent = new Agent({ connect: { ca } });
    reader = await newPartner('Reader Bank', ['partner_reader']);

    // Another organisation's account: the object the reader must not reach.
    const writer = await newPartner('Writer Bank', ['partner_reader', 'partner_writer']);
    const agent = new Agent({ connect: { ca, cert: writer.certPem, key: writer.keyPem } });
    try {
      const tokenRes = await request(`${platform.mtlsUrl}/token`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${encodeURIComponent(writer.clientId)}`,
      });
      const token = ((await tokenRes.body.json()) as { access_token: string }).access_token;
      const created = await request(`${platform.gatewayUrl}/v1/accounts`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Writer main', currency: 'EUR' }),
      });
      const text = await created.body.text();
      assert.equal(created.statusCode, 201, text);
      foreignAccountId = (JSON.parse(text) as { id: string }).id;
    } finally {
      await agent.close();
    }
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    await adminAgent?.close();
  });

  test('ok/every non-destructive case passes; the revocation cases are skipped, never passed', async () => {
    const result = await testplan([
      ...args(reader, ['--admin-url', platform.url, '--operator-token-file', operatorFile]),
      '--json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const byId = cases(result);
    assert.deepEqual([...byId.keys()], [...NON_DESTRUCTIVE, ...REVOCATION]);
    for (const id of NON_DESTRUCTIVE)
      assert.equal(byId.get(id)!.status, 'pass', JSON.stringify(byId.get(id)));
    for (const id of REVOCATION) {
      assert.equal(byId.get(id)!.status, 'skip');
      assert.match(byId.get(id)!.got, /--destructive/);
    }
    // The platform's own reasons come through in "got".
    assert.match(byId.get('unbound-token')!.got, /^401 /);
    assert.match(byId.get('insufficient-scope')!.got, /^403 insufficient_scope/);
    assert.match(byId.get('object-id-tampering')!.got, /^40[34]/);
    assert.match(byId.get('untrusted-certificate')!.got, /connection failed|^40[13]/);
    // Progress while running: each case named on stderr as it starts.
    for (const id of NON_DESTRUCTIVE) assert.match(result.stderr, new RegExp(`… ${id}:`));
    // The operator token never reaches the output.
    assert.ok(!result.stdout.includes(operator) && !result.stderr.includes(operator));
  });

  test('ok/without operator credentials the certificate and application cases are skipped; token revocation runs', async () => {
    // The endpoints named directly this time, no discovery.
    const argv = args(reader, [
      '--token-endpoint',
      `${platform.mtlsUrl}/token`,
      '--revocation-endpoint',
      `${platform.mtlsUrl}/token/revocation`,
      '--destructive',
      '--json',
    ]);
    argv.splice(argv.indexOf('--issuer'), 2);
    const result = await testplan(argv);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const byId = cases(result);
    const revoked = byId.get('revoked-token')!;
    assert.equal(revoked.status, 'pass', JSON.stringify(revoked));
    assert.ok(revoked.delayMs !== undefined && revoked.delayMs <= 2000);
    assert.match(revoked.got, /^401 token_revoked after \d+ ms/);
    for (const id of ['revoked-certificate', 'suspended-application']) {
      assert.equal(byId.get(id)!.status, 'skip');
      assert.match(byId.get(id)!.got, /operator credentials/);
    }
    // Without a second certificate, the binding case says which certificate it used.
    assert.equal(byId.get('unbound-token')!.status, 'pass');
  });

  test('fail/a wrong expectation (--path to a forbidden route) is a FAIL, a non-zero exit and a JUnit failure', async () => {
    const junit = join(platform.dir, 'testplan.xml');
    const result = await testplan(args(reader, ['--path', 'POST /v1/payments', '--junit', junit]));
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^FAIL +allowed-call +expected 200; got 403 insufficient_scope \(\d+ ms\)$/m);
    assert.match(result.stdout, /^PASS +token-issued /m);
    assert.match(result.stdout, /^SKIP +revoked-token /m);
    assert.match(result.stdout, /^FAILED: \d+ passed, 1 failed, 3 skipped/m);
    const xml = readFileSync(junit, 'utf8');
    const suite = assertWellFormedJunit(xml);
    assert.equal(suite.tests, 13);
    assert.equal(suite.failures, 1);
    assert.equal(suite.skipped, 3);
    assert.deepEqual(suite.failed, ['allowed-call']);
    assert.match(xml, /<failure message="expected 200; got 403 insufficient_scope" type="expectation">/);
  });

  test('fail/usage errors exit 2 before any request', async () => {
    const noApi = await testplan([CLI, 'testplan', 'run', '--issuer', platform.url]);
    assert.equal(noApi.code, 2);
    assert.match(noApi.stderr, /--api is required/);
    const plainHttp = await testplan(args(reader, ['--api', 'http://localhost:1']));
    assert.equal(plainHttp.code, 2);
    assert.match(plainHttp.stderr, /must be an https URL/);
    const badOp = await testplan(args(reader, ['--forbidden-path', 'FETCH /x']));
    assert.equal(badOp.code, 2);
    const help = await testplan([CLI, 'testplan', 'run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--destructive/);
  });

  // Last: it revokes the reader's certificate and suspends its application.
  test('ok/destructive: all cases pass, revocations refused within 2 s, in the order token → certificate → application', async (t) => {
    const junit = join(platform.dir, 'destructive.xml');
    const result = await testplan([
      ...args(reader, [
        '--admin-url',
        platform.url,
        '--operator-token-file',
        operatorFile,
        '--destructive',
        '--junit',
        junit,
      ]),
      '--json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const byId = cases(result);
    assert.deepEqual([...byId.keys()], [...NON_DESTRUCTIVE, ...REVOCATION]);
    for (const c of byId.values()) assert.equal(c.status, 'pass', JSON.stringify(c));
    assert.match(byId.get('revoked-token')!.got, /token_revoked/);
    assert.match(byId.get('revoked-certificate')!.got, /certificate_revoked|connection failed/);
    assert.match(byId.get('suspended-application')!.got, /client_suspended/);
    for (const id of REVOCATION) assert.ok(byId.get(id)!.delayMs! <= 2000);
    t.diagnostic(`revocation → refused: ${REVOCATION.map((id) => `${id} ${byId.get(id)!.got}`).join('; ')}`);
    const suite = assertWellFormedJunit(readFileSync(junit, 'utf8'));
    assert.deepEqual([suite.tests, suite.failures, suite.skipped], [13, 0, 0]);

    // What the plan did is what the platform now says.
    const app = await admin<{ status: string }>('GET', `/applications/${reader.clientId}`);
    assert.equal(app.status, 'suspended');
    const certs = await admin<{ items: Array<{ status: string }> }>(
      'GET',
      `/certificates?client_id=${reader.clientId}`,
    );
    // The reader's own, and the second one each run with operator credentials made (and revoked again).
    assert.equal(certs.items.length, 3);
    assert.ok(certs.items.every((c) => c.status === 'revoked'));
  });
});
