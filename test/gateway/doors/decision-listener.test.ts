import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../fixture.ts';
import { type DoorEnv, doorEnv, SECRET } from './door-fixture.ts';

let env: DoorEnv;
before(async () => {
  env = await doorEnv();
});
after(() => env?.close());

const NGINX_HEADERS = { 'x-original-method': 'GET', 'x-original-uri': '/v1/status' };

describe('decision listener callers (MUST authenticate)', () => {
  for (const [name, headers] of [
    ['no credential', {}],
    ['a wrong secret', { 'x-accredit-decision-secret': `${SECRET}x` }],
    ['a secret of another length', { 'x-accredit-decision-secret': 'short' }],
    [
      'the secret as Bearer outside AuthZEN (Authorization is the partner’s there)',
      { authorization: `Bearer ${SECRET}` },
    ],
  ] as const) {
    test(`fail/auth_request with ${name} is 401`, async () => {
      const res = await call(env.edge, env.listener.url, '/auth_request', {
        headers: { ...NGINX_HEADERS, ...headers },
      });
      assert.equal(res.status, 401);
      assert.equal(res.json.code, 'caller_unauthenticated');
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm=/);
    });
  }

  for (const path of [
    '/ext_authz/v1/status',
    '/access/v1/evaluation',
    '/.well-known/authzen-configuration',
  ]) {
    test(`fail/${path} without a credential is 401`, async () => {
      const res = await call(env.edge, env.listener.url, path, {
        method: path.startsWith('/access') ? 'POST' : 'GET',
        ...(path.startsWith('/access') ? { body: {} } : {}),
      });
      assert.equal(res.status, 401);
    });
  }

  test('fail/a client certificate chained to the CA but not named is not a caller', async () => {
    const res = await call(env.strangerEdge, env.listener.url, '/auth_request', { headers: NGINX_HEADERS });
    assert.equal(res.status, 401);
  });

  test('ok/a pinned client certificate is a caller, without the secret', async () => {
    const res = await call(env.pinnedEdge, env.listener.url, '/auth_request', {
      headers: { ...NGINX_HEADERS, 'x-client-cert': encodeURIComponent(env.reader.cred.certPem) },
    });
    assert.equal(res.status, 200, res.text);
  });

  test('ok/the secret in its header is a caller', async () => {
    const res = await call(env.edge, env.listener.url, '/auth_request', {
      headers: {
        ...NGINX_HEADERS,
        'x-accredit-decision-secret': SECRET,
        'x-client-cert': encodeURIComponent(env.reader.cred.certPem),
      },
    });
    assert.equal(res.status, 200, res.text);
  });
});

describe('auth_request door', () => {
  const secret = { 'x-accredit-decision-secret': SECRET };
  test('fail/without X-Original-URI the request is refused 400', async () => {
    const res = await call(env.edge, env.listener.url, '/auth_request', {
      headers: { ...secret, 'x-original-method': 'GET' },
    });
    assert.equal(res.status, 400);
  });

  test('fail/an unreadable certificate header is refused, never ignored', async () => {
    const res = await call(env.edge, env.listener.url, '/auth_request', {
      headers: { ...secret, ...NGINX_HEADERS, 'x-client-cert': 'not%20a%20certificate' },
    });
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 'certificate_untrusted');
  });

  test('fail/path tricks in X-Original-URI are refused as at the gateway', async () => {
    const res = await call(env.edge, env.listener.url, '/auth_request', {
      headers: {
        ...secret,
        'x-original-method': 'GET',
        'x-original-uri': '/v1/status/../accounts',
        'x-client-cert': encodeURIComponent(env.reader.cred.certPem),
      },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'invalid_path');
  });
});

describe('AuthZEN door', () => {
  const auth = { authorization: `Bearer ${SECRET}` };
  const subject = async (scope = 'accounts:read') => ({
    type: 'client',
    id: env.reader.clientId,
    properties: {
      token: await env.minter.sign(
        env.minter.claims(env.reader.clientId, env.reader.orgId, env.reader.cred.x5tS256, scope),
      ),
      client_certificate: env.reader.cred.certPem,
    },
  });

  test('ok/PDP metadata names the evaluation endpoints (§9)', async () => {
    const res = await call(env.edge, env.listener.url, '/.well-known/authzen-configuration', {
      headers: auth,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      policy_decision_point: env.listener.url,
      access_evaluation_endpoint: `${env.listener.url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${env.listener.url}/access/v1/evaluations`,
    });
  });

  test('ok/batch with defaults, execute_all: one result per evaluation, in order', async () => {
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluations', {
      method: 'POST',
      headers: auth,
      body: {
        subject: await subject(),
        action: { name: 'GET' },
        evaluations: [
          { resource: { type: 'route', id: '/v1/accounts' } },
          { resource: { type: 'route', id: '/v1/payments' }, action: { name: 'POST' } },
          { resource: { type: 'route', id: '/v1/accounts/acc_1' } },
        ],
      },
    });
    assert.equal(res.status, 200, res.text);
    const results = res.json.evaluations as Array<{ decision: boolean; context: { reason: string } }>;
    assert.deepEqual(
      results.map((r) => [r.decision, r.context.reason]),
      [
        [true, 'allowed'],
        [false, 'insufficient_scope'],
        [true, 'allowed'],
      ],
    );
  });

  for (const [semantic, expected] of [
    ['deny_on_first_deny', [true, false]],
    ['permit_on_first_permit', [true]],
  ] as const) {
    test(`ok/batch ${semantic} stops where the semantic says`, async () => {
      const res = await call(env.edge, env.listener.url, '/access/v1/evaluations', {
        method: 'POST',
        headers: auth,
        body: {
          subject: await subject(),
          action: { name: 'GET' },
          options: { evaluations_semantic: semantic },
          evaluations: [
            { resource: { type: 'route', id: '/v1/accounts' } },
            { resource: { type: 'route', id: '/v1/payments' }, action: { name: 'POST' } },
            { resource: { type: 'route', id: '/v1/accounts' } },
          ],
        },
      });
      assert.equal(res.status, 200, res.text);
      const results = res.json.evaluations as Array<{ decision: boolean }>;
      assert.deepEqual(
        results.map((r) => r.decision),
        expected,
      );
    });
  }

  test('ok/the batch endpoint without evaluations answers as the single one', async () => {
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluations', {
      method: 'POST',
      headers: auth,
      body: {
        subject: await subject(),
        action: { name: 'GET' },
        resource: { type: 'route', id: '/v1/accounts' },
      },
    });
    assert.equal(res.json.decision, true);
  });

  test('fail/a subject that is not the token’s client is denied', async () => {
    const s = await subject();
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: auth,
      body: {
        subject: { ...s, id: env.other.clientId },
        action: { name: 'GET' },
        resource: { type: 'route', id: '/v1/accounts' },
      },
    });
    assert.equal(res.json.decision, false);
    assert.equal((res.json.context as { reason: string }).reason, 'subject_mismatch');
  });

  for (const [name, body] of [
    ['no subject', { action: { name: 'GET' }, resource: { type: 'route', id: '/v1/accounts' } }],
    ['no action', { subject: { type: 'client', id: 'x' }, resource: { type: 'route', id: '/v1/accounts' } }],
    [
      'a resource of another type',
      {
        subject: { type: 'client', id: 'x' },
        action: { name: 'GET' },
        resource: { type: 'document', id: '1' },
      },
    ],
    [
      'an unknown semantic',
      {
        subject: { type: 'client', id: 'x' },
        action: { name: 'GET' },
        options: { evaluations_semantic: 'first' },
        evaluations: [{ resource: { type: 'route', id: '/' } }],
      },
    ],
  ] as const) {
    test(`fail/${name} is 400`, async () => {
      const res = await call(env.edge, env.listener.url, '/access/v1/evaluations', {
        method: 'POST',
        headers: auth,
        body,
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.code, 'invalid_request');
    });
  }

  test('fail/GET on an evaluation endpoint is 405', async () => {
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluation', { headers: auth });
    assert.equal(res.status, 405);
  });
});

describe('decision listener configuration', () => {
  test('fail/callers named by subject without a caller CA stop the listener at start', async () => {
    const { createDecisionListener } = await import('../../../src/gateway/index.ts');
    const { capturingLogger } = await import('../fixture.ts');
    await assert.rejects(
      createDecisionListener({
        host: '127.0.0.1',
        port: 0,
        tls: env.tls,
        core: env.core,
        logger: capturingLogger().logger,
        callers: ['CN=edge-1'],
      }),
      /callerCaFile/,
    );
  });

  test('ok/a caller named by subject under the caller CA is answered; the same name under no CA is not', async () => {
    const { createDecisionListener } = await import('../../../src/gateway/index.ts');
    const { capturingLogger } = await import('../fixture.ts');
    const { X509Certificate } = await import('node:crypto');
    const subject = new X509Certificate(env.other.cred.certPem).subject.split('\n').join(', ');
    const named = await createDecisionListener({
      host: '127.0.0.1',
      port: 0,
      tls: env.tls,
      core: env.core,
      logger: capturingLogger().logger,
      callers: [subject],
      callerCa: env.ca.chainPem,
    });
    try {
      const headers = { 'x-original-method': 'GET', 'x-original-uri': '/v1/status' };
      assert.equal((await call(env.other.agent, named.url, '/auth_request', { headers })).status, 200);
      assert.equal((await call(env.reader.agent, named.url, '/auth_request', { headers })).status, 401);
      assert.equal((await call(env.foreign.agent, named.url, '/auth_request', { headers })).status, 401);
    } finally {
      await named.close();
    }
  });
});
