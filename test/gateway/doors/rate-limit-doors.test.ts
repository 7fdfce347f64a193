import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseList } from 'structured-headers';
import { removeRateLimit, setRateLimit } from '../../../src/directory/index.ts';
import { authorizerResult, type IamPolicyResult } from '../../../src/doors/aws-lambda/index.ts';
import type { Decision } from '../../../src/gateway/decision/index.ts';
import { createGateway, type Gateway } from '../../../src/gateway/index.ts';
import { createRedisRateLimitStore } from '../../../src/shared/rate-limit/index.ts';
import { probeRedis, REDIS_URL } from '../../support/redis.ts';
import { call, capturingLogger } from '../fixture.ts';
import { AUDIENCE, type DoorEnv, doorEnv, ISSUER, ROUTES, SECRET } from './door-fixture.ts';

/**
 * Issue 16 at every door: a limit set on the platform (here the directory, the in-process feed carrying it to
 * the liveness state every door reads) is enforced after authentication, answered 429 rate_limited with
 * Retry-After and the RateLimit headers where the door can send them, and counted by reason.
 */
let env: DoorEnv;
before(async () => {
  env = await doorEnv();
});
after(() => env?.close());

const meta = () => ({ actor: 'operator:test', now: new Date() });

function readerToken(): Promise<string> {
  const r = env.reader;
  return env.minter.sign(env.minter.claims(r.clientId, r.orgId, r.cred.x5tS256, 'accounts:read'));
}

function otherToken(): Promise<string> {
  const o = env.other;
  return env.minter.sign(env.minter.claims(o.clientId, o.orgId, o.cred.x5tS256, 'accounts:read'));
}

function member(header: unknown, name: string): Map<string, unknown> {
  const found = parseList(String(header)).find(([value]) => value === name);
  assert.ok(found, `${name} in ${String(header)}`);
  return found[1] as Map<string, unknown>;
}

describe('rate limits at the own gateway', () => {
  test('ok/within the limit with RateLimit headers; fail/the (limit+1)th is 429 with Retry-After; another org unaffected', async () => {
    await env.storage.transaction((tx) =>
      setRateLimit(tx, 'application', env.reader.clientId, [{ quota: 2, window: 3600 }], meta()),
    );
    try {
      const token = await readerToken();
      const first = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token });
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(
        [...member(first.headers['ratelimit-policy'], 'client-3600s')],
        [
          ['q', 2],
          ['w', 3600],
        ],
      );
      assert.equal(member(first.headers.ratelimit, 'client-3600s').get('r'), 1);
      assert.equal(first.headers['retry-after'], undefined);
      const second = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token });
      assert.equal(second.status, 200);
      assert.equal(member(second.headers.ratelimit, 'client-3600s').get('r'), 0);

      const refused = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token });
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.json.code, 'rate_limited');
      assert.equal(refused.json.title, 'Too Many Requests');
      assert.equal(refused.headers['content-type'], 'application/problem+json');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 1800, String(retryAfter));
      assert.equal(member(refused.headers.ratelimit, 'client-3600s').get('r'), 0);
      assert.ok(refused.headers['ratelimit-policy']);
      assert.equal(refused.headers['www-authenticate'], undefined, 'not an authentication failure');

      // Another client of another organisation: its own (unlimited) quota.
      const other = await call(env.other.agent, env.gateway.url, '/v1/accounts', {
        token: await otherToken(),
      });
      assert.equal(other.status, 200);
      assert.equal(other.headers.ratelimit, undefined, 'no limit applies to it');

      // The limit raised through the directory (as the admin API does): the next request is admitted.
      await env.storage.transaction((tx) =>
        setRateLimit(tx, 'application', env.reader.clientId, [{ quota: 5, window: 3600 }], meta()),
      );
      const raised = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token });
      assert.equal(raised.status, 200, raised.text);
      assert.equal(member(raised.headers['ratelimit-policy'], 'client-3600s').get('q'), 5);

      // Removed: the catalog's limits (none here) apply; nothing is counted, no headers.
      await env.storage.transaction((tx) => removeRateLimit(tx, 'application', env.reader.clientId, meta()));
      const free = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token });
      assert.equal(free.status, 200);
      assert.equal(free.headers.ratelimit, undefined);

      const stats = env.gateway.core.stats();
      assert.ok((stats.denied.rate_limited ?? 0) >= 1, JSON.stringify(stats));
      assert.ok(env.lines.some((l) => l.includes('"reason":"rate_limited"') && l.includes('"status":429')));
    } finally {
      await env.storage.transaction((tx) => removeRateLimit(tx, 'application', env.reader.clientId, meta()));
    }
  });

  test('fail/a refused authentication is not counted: no headers, its own status', async () => {
    await env.storage.transaction((tx) =>
      setRateLimit(tx, 'application', env.reader.clientId, [{ quota: 1, window: 3600 }], meta()),
    );
    try {
      for (let i = 0; i < 3; i++) {
        const res = await call(env.reader.agent, env.gateway.url, '/v1/accounts', { token: 'not-a-token' });
        assert.equal(res.status, 401);
        assert.equal(res.headers.ratelimit, undefined);
      }
    } finally {
      await env.storage.transaction((tx) => removeRateLimit(tx, 'application', env.reader.clientId, meta()));
    }
  });
});

describe('rate limits at the decision listener doors (one core: one count)', () => {
  const nginx = (token: string) => ({
    'x-accredit-decision-secret': SECRET,
    'x-original-method': 'GET',
    'x-original-uri': '/v1/accounts',
    'x-client-cert': encodeURIComponent(env.reader.cred.certPem),
    authorization: `Bearer ${token}`,
  });

  test('auth_request: ok/200 with the headers for nginx; fail/403 rate_limited with Retry-After (nginx cannot pass 429)', async () => {
    await env.storage.transaction((tx) =>
      setRateLimit(tx, 'application', env.reader.clientId, [{ quota: 1, window: 3600 }], meta()),
    );
    const token = await readerToken();
    const ok = await call(env.edge, env.listener.url, '/auth_request', { headers: nginx(token) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(member(ok.headers.ratelimit, 'client-3600s').get('r'), 0);
    assert.ok(ok.headers['ratelimit-policy']);
    const refused = await call(env.edge, env.listener.url, '/auth_request', { headers: nginx(token) });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['x-accredit-reason'], 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(member(refused.headers.ratelimit, 'client-3600s').get('r'), 0);
  });

  test('ext_authz: fail/429 rate_limited with Retry-After and the RateLimit headers (Envoy passes them on)', async () => {
    const token = await readerToken();
    const x = new (await import('node:crypto')).X509Certificate(env.reader.cred.certPem);
    const refused = await call(env.edge, env.listener.url, '/ext_authz/v1/accounts', {
      headers: {
        'x-accredit-decision-secret': SECRET,
        'x-forwarded-client-cert': `Hash=${x.fingerprint256.replaceAll(':', '').toLowerCase()};Cert="${encodeURIComponent(env.reader.cred.certPem)}"`,
        authorization: `Bearer ${token}`,
      },
    });
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.code, 'rate_limited');
    assert.equal(refused.headers['x-accredit-reason'], 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.ok(refused.headers.ratelimit);
  });

  test('AuthZEN: fail/decision false, status 429, the headers in context.response_headers', async () => {
    const token = await readerToken();
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: {
        subject: {
          type: 'client',
          id: env.reader.clientId,
          properties: { token, client_certificate: env.reader.cred.certPem },
        },
        action: { name: 'GET' },
        resource: { type: 'route', id: '/v1/accounts' },
      },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.decision, false);
    const context = res.json.context as {
      status: number;
      reason: string;
      response_headers: Record<string, string>;
    };
    assert.equal(context.status, 429);
    assert.equal(context.reason, 'rate_limited');
    assert.ok(Number(context.response_headers['retry-after']) > 0);
    assert.ok(context.response_headers.ratelimit);
    assert.ok(context.response_headers['ratelimit-policy']);
    const stats = env.core.stats();
    assert.equal(stats.denied.rate_limited, 3, JSON.stringify(stats));
    await env.storage.transaction((tx) => removeRateLimit(tx, 'application', env.reader.clientId, meta()));
  });
});

const redisSkip = await probeRedis();

describe('standalone gateways with --redis-url', { skip: redisSkip }, () => {
  test('ok/two gateway nodes on one Redis share the counter; fail/the (limit+1)th is 429 on either', async () => {
    const prefix = `accredit-test:rl-doors:${process.pid}:${Date.now()}:`;
    const stores = [
      createRedisRateLimitStore(REDIS_URL, { prefix }),
      createRedisRateLimitStore(REDIS_URL, { prefix }),
    ];
    const gateways: Gateway[] = [];
    try {
      for (const store of stores) {
        gateways.push(
          await createGateway({
            host: '127.0.0.1',
            port: 0,
            publicUrl: AUDIENCE,
            tls: { ...env.tls, ca: env.ca.chainPem },
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: env.jwksUrl,
            jwksCa: env.ca.chainPem,
            liveness: env.liveness,
            routes: ROUTES,
            upstream: env.upstreamUrl,
            logger: capturingLogger().logger,
            rateLimit: { store, onStoreError: 'closed' },
          }),
        );
      }
      await env.storage.transaction((tx) =>
        setRateLimit(tx, 'organisation', env.reader.orgId, [{ quota: 3, window: 3600 }], meta()),
      );
      const token = await readerToken();
      const [one, two] = gateways as [Gateway, Gateway];
      const statuses: number[] = [];
      for (const gateway of [one, two, one, two, one]) {
        statuses.push((await call(env.reader.agent, gateway.url, '/v1/accounts', { token })).status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    } finally {
      await env.storage.transaction((tx) => removeRateLimit(tx, 'organisation', env.reader.orgId, meta()));
      for (const gateway of gateways) await gateway.close();
      for (const store of stores) await store.close();
    }
  });
});

test('AWS Lambda: fail/a 429 is a Deny (403) whose context carries Retry-After and the RateLimit headers', () => {
  const refused: Decision = {
    allow: false,
    status: 429,
    reason: 'rate_limited',
    detail: 'rate limit client-1s exceeded; retry after 1 s',
    challenge: undefined,
    responseHeaders: {
      'retry-after': '1',
      ratelimit: '"client-1s";r=0;t=1',
      'ratelimit-policy': '"client-1s";q=10;w=1',
    },
  };
  const options = {
    mode: 'simple' as const,
    policyResource: 'exact' as const,
    resource: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/v1/accounts',
    requestId: 'req-1',
  };
  const http = authorizerResult(refused, { ...options, kind: 'http' });
  assert.equal((http as { isAuthorized?: boolean }).isAuthorized, false);
  assert.deepEqual(http.context, {
    reason: 'rate_limited',
    status: 429,
    request_id: 'req-1',
    retry_after: '1',
    ratelimit: '"client-1s";r=0;t=1',
    ratelimit_policy: '"client-1s";q=10;w=1',
  });
  const rest = authorizerResult(refused, { ...options, kind: 'rest', mode: 'iam' }) as IamPolicyResult;
  assert.equal(rest.policyDocument.Statement[0]?.Effect, 'Deny');
  assert.equal(rest.context.retry_after, '1');
});
