// Issue 16 (optional part): standalone gateways push their decision lines into the platform's shared decision
// log — POST /enforcement/v1/decisions with an enforcement credential — and the gateway's pusher.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import {
  DECISIONS_PUSH_MAX_ITEMS,
  DECISIONS_PUSH_PATH,
  type DecisionRecord,
  pushDecisions,
  startStandaloneGateway,
} from '../../src/gateway/index.ts';
import {
  issueEnforcementCredential,
  revokeEnforcementCredential,
} from '../../src/platform/enforcement-feed/index.ts';
import { type ConsolePlatform, startConsolePlatform } from '../console/support/console-platform.ts';
import { capturingLogger } from '../gateway/fixture.ts';

const meta = () => ({ actor: 'operator:test', now: new Date() });
const X5T = 'A'.repeat(43);

const line = (over: Record<string, unknown> = {}) => ({
  at: new Date().toISOString(),
  door: 'gateway',
  decision: 'allow',
  reason: 'ok',
  status: 200,
  method: 'GET',
  route: '/v1/accounts',
  path: '/v1/accounts',
  client_id: 'edge-client',
  org_id: 'edge-org',
  jti: null,
  cert_subject: null,
  cert_x5t_s256: X5T,
  request_id: 'edge-1',
  latency_ms: 3,
  ...over,
});

describe('decision lines pushed by standalone gateways (issue 16)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let credential: string;
  let revoked: string;
  const url = () => `${cp.platform.urls.public}${DECISIONS_PUSH_PATH}`;
  const push = async (
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${credential}` },
  ) => {
    const res = await request(url(), {
      method: 'POST',
      dispatcher: cp.agent,
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      json: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  };

  before(async () => {
    cp = await startConsolePlatform();
    credential = (
      await cp.platform.storage.transaction((tx) => issueEnforcementCredential(tx, 'edge-1', meta()))
    ).token;
    const gone = await cp.platform.storage.transaction((tx) =>
      issueEnforcementCredential(tx, 'gone', meta()),
    );
    await cp.platform.storage.transaction((tx) => revokeEnforcementCredential(tx, gone.id, meta()));
    revoked = gone.token;
  });
  after(async () => {
    await cp?.stop();
  });

  test('ok/a batch is accepted and is in the shared log, the charts and the go-live counts', async () => {
    const r = await push({
      decisions: [
        line({ request_id: 'edge-allow' }),
        line({ request_id: 'edge-deny', decision: 'deny', reason: 'insufficient_scope', status: 403 }),
      ],
    });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.deepEqual(r.json, { accepted: 2 });
    const recorder = cp.platform.decisionRecorder;
    const listed = await recorder.list({ org_id: 'edge-org' }, 10);
    assert.deepEqual(
      listed.items.map((d) => d.request_id),
      ['edge-deny', 'edge-allow'],
    );
    const stats = await recorder.stats(5);
    const org = stats.organisations.find((o) => o.org_id === 'edge-org');
    assert.equal(org?.requests, 2);
    assert.equal(org?.denials, 1);
    const node = await cp.platform.storage.db
      .selectFrom('decision_lines')
      .select('node')
      .where('request_id', '=', 'edge-allow')
      .executeTakeFirstOrThrow();
    assert.equal(node.node, 'gateway:edge-1', 'the line names the gateway’s credential');
  });

  test('fail/no, unknown or revoked credential → 401 and nothing recorded', async () => {
    const before = (await cp.platform.decisionRecorder.list({}, 500)).items.length;
    for (const [name, headers] of [
      ['none', {}],
      ['basic', { authorization: 'Basic Zm9vOmJhcg==' }],
      ['unknown', { authorization: 'Bearer acc_ep_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
      ['revoked', { authorization: `Bearer ${revoked}` }],
    ] as Array<[string, Record<string, string>]>) {
      const r = await push({ decisions: [line({ request_id: `refused-${name}` })] }, headers);
      assert.equal(r.status, 401, name);
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="accredit-enforcement"/, name);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    }
    // Unauthenticated, even a malformed body is refused for the credential first.
    assert.equal((await push({ nonsense: true }, {})).status, 401);
    assert.equal((await cp.platform.decisionRecorder.list({}, 500)).items.length, before);
  });

  test('fail/malformed batches are RFC 9457 problems and nothing of them is recorded', async () => {
    const before = (await cp.platform.decisionRecorder.list({}, 500)).items.length;
    const tooMany = Array.from({ length: DECISIONS_PUSH_MAX_ITEMS + 1 }, (_, i) =>
      line({ request_id: `m${i}` }),
    );
    const cases: Array<[string, unknown, number]> = [
      ['not JSON', '{', 400],
      ['no decisions', {}, 400],
      ['too many lines', { decisions: tooMany }, 400],
      ['bad decision', { decisions: [line(), line({ decision: 'maybe' })] }, 400],
      ['unknown field', { decisions: [line({ token: 'eyJ' })] }, 400],
      ['bad reason', { decisions: [line({ reason: 'Not A Reason' })] }, 400],
      ['too old', { decisions: [line({ at: new Date(Date.now() - 3_600_000).toISOString() })] }, 400],
      ['in the future', { decisions: [line({ at: new Date(Date.now() + 3_600_000).toISOString() })] }, 400],
      ['not a time', { decisions: [line({ at: 'yesterday' })] }, 400],
      ['over 1 MiB', { decisions: [line({ path: 'x'.repeat(1100 * 1024) })] }, 413],
    ];
    for (const [name, body, status] of cases) {
      const r = await push(body);
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
      assert.equal(typeof r.json.code, 'string', name);
    }
    assert.equal((await cp.platform.decisionRecorder.list({}, 500)).items.length, before);
  });

  test('ok/the gateway’s pusher sends its buffered lines; fail/a refused batch is dropped and counted', async () => {
    const decision = (request_id: string): DecisionRecord => ({
      door: 'ext_authz',
      decision: 'allow',
      reason: 'ok' as DecisionRecord['reason'],
      status: 200,
      method: 'GET',
      route: '/v1/accounts',
      path: '/v1/accounts',
      client_id: 'pushed-client',
      org_id: 'pushed-org',
      jti: undefined,
      cert_subject: undefined,
      cert_x5t_s256: undefined,
      request_id,
      latency_ms: 2,
    });
    const options = {
      platformUrl: cp.platform.urls.public,
      ca: cp.platform.ca.chainPem,
      logger: capturingLogger().logger,
      intervalMs: 3_600_000,
    };
    const pusher = pushDecisions({ ...options, credential });
    for (let i = 0; i < 3; i++) pusher.onDecision(decision(`pushed-${i}`));
    await pusher.flush();
    assert.equal(pusher.dropped(), 0);
    const listed = await cp.platform.decisionRecorder.list({ org_id: 'pushed-org', door: 'ext_authz' }, 10);
    assert.deepEqual(
      listed.items.map((d) => d.request_id),
      ['pushed-2', 'pushed-1', 'pushed-0'],
    );
    await pusher.close();

    const refused = pushDecisions({ ...options, credential: revoked, maxBuffered: 2 });
    for (let i = 0; i < 3; i++) refused.onDecision(decision(`never-${i}`));
    assert.equal(refused.dropped(), 1, 'beyond the buffer');
    await refused.flush();
    assert.equal(refused.dropped(), 3, 'the refused batch too');
    await refused.close();
    assert.equal((await cp.platform.decisionRecorder.list({ client_id: 'never' }, 10)).items.length, 0);
  });

  test('ok/accredit gateway --push-decisions: a standalone gateway’s refusal reaches the platform’s log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accredit-push-'));
    try {
      execFileSync(
        'openssl',
        [
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
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      const tls = {
        cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      };
      const standalone = await startStandaloneGateway({
        platformUrl: cp.platform.urls.public,
        ca: cp.platform.ca.chainPem,
        credential,
        host: '127.0.0.1',
        port: 0,
        publicUrl: 'https://localhost',
        tls,
        upstream: 'http://127.0.0.1:1',
        audience: 'https://localhost',
        staleAfterMs: 15_000,
        logger: capturingLogger().logger,
        pushDecisions: true,
      });
      const agent = new Agent({ connect: { ca: tls.cert, servername: 'localhost' } });
      let status = 0;
      try {
        const res = await request(`${standalone.gateway.url}/v1/through-the-edge`, { dispatcher: agent });
        await res.body.text();
        status = res.statusCode;
      } finally {
        await agent.close();
        // Stopping sends what the gateway still holds.
        await standalone.close();
      }
      assert.ok(status >= 400, `refused (${status})`);
      assert.equal(standalone.pusher?.dropped(), 0);
      // The platform node writes what it took at its next flush (about a second): now.
      await cp.platform.decisionRecorder.flush();
      const lines = await cp.platform.storage.db
        .selectFrom('decision_lines')
        .select(['decision', 'status', 'node'])
        .where('node', '=', 'gateway:edge-1')
        .where('path', '=', '/v1/through-the-edge')
        .execute();
      assert.ok(
        lines.some((l) => l.decision === 'deny' && l.status === status),
        JSON.stringify(lines),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
