import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call } from '../fixture.ts';
import { type Client, type DoorEnv, doorEnv, SECRET } from './door-fixture.ts';

/**
 * One allow/deny table through every door (issue 12): the own gateway, nginx auth_request, Envoy ext_authz
 * and AuthZEN must reach the same decision for the same request, since they ask the same core.
 */

let env: DoorEnv;
before(async () => {
  env = await doorEnv();
});
after(() => env?.close());

interface Case {
  name: string;
  client: () => Client | undefined;
  token: () => Promise<string | undefined>;
  method: string;
  path: () => string;
  status: number;
  reason: string;
}

const now = () => Math.floor(Date.now() / 1000);
const bound = (c: Client, scope = 'accounts:read', extra: Record<string, unknown> = {}) =>
  env.minter.sign({ ...env.minter.claims(c.clientId, c.orgId, c.cred.x5tS256, scope), ...extra });

const CASES: Case[] = [
  {
    name: 'ok/valid bound token with the scope',
    client: () => env.reader,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'fail/no token',
    client: () => env.reader,
    token: async () => undefined,
    method: 'GET',
    path: () => '/v1/accounts',
    status: 401,
    reason: 'token_missing',
  },
  {
    name: 'fail/garbage token',
    client: () => env.reader,
    token: async () => 'garbage.garbage.garbage',
    method: 'GET',
    path: () => '/v1/accounts',
    status: 401,
    reason: 'token_malformed',
  },
  {
    name: 'fail/expired token',
    client: () => env.reader,
    token: () => bound(env.reader, 'accounts:read', { iat: now() - 900, exp: now() - 600 }),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 401,
    reason: 'token_expired',
  },
  {
    name: 'fail/token not bound to a certificate',
    client: () => env.reader,
    token: () =>
      env.minter.sign(env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'accounts:read')),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 401,
    reason: 'token_not_bound',
  },
  {
    name: 'fail/insufficient scope',
    client: () => env.reader,
    token: () => bound(env.reader, 'payments:submit'),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 403,
    reason: 'insufficient_scope',
  },
  {
    name: 'fail/route not found (told to an authenticated caller)',
    client: () => env.reader,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => '/v1/nothing-here',
    status: 404,
    reason: 'route_not_found',
  },
  {
    name: 'fail/revoked certificate',
    client: () => env.revoked,
    token: () => bound(env.revoked),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 403,
    reason: 'certificate_revoked',
  },
  {
    name: 'fail/certificate from a CA that is not trusted',
    client: () => env.foreign,
    token: () => bound(env.foreign),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 403,
    reason: 'certificate_untrusted',
  },
  {
    name: 'fail/certificate of another client than the token’s',
    client: () => env.other,
    token: () =>
      env.minter.sign(
        env.minter.claims(env.reader.clientId, env.reader.orgId, env.other.cred.x5tS256, 'accounts:read'),
      ),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 403,
    reason: 'certificate_client_mismatch',
  },
  {
    name: 'ok/own organisation id in the owner route',
    client: () => env.reader,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => `/v1/orgs/${env.reader.orgId}/accounts`,
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'fail/other organisation id in the owner route',
    client: () => env.reader,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => `/v1/orgs/${env.other.orgId}/accounts`,
    status: 403,
    reason: 'resource_owner_mismatch',
  },
  {
    name: 'ok/public route without a token',
    client: () => env.reader,
    token: async () => undefined,
    method: 'GET',
    path: () => '/v1/status',
    status: 200,
    reason: 'public_route',
  },
  {
    name: 'fail/no client certificate on an mtls-required route',
    client: () => undefined,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => '/v1/accounts',
    status: 403,
    reason: 'client_certificate_required',
  },
  {
    name: 'fail/token in the query',
    client: () => env.reader,
    token: () => bound(env.reader),
    method: 'GET',
    path: () => '/v1/accounts?access_token=abc',
    status: 400,
    reason: 'token_in_query',
  },
];

interface Outcome {
  status: number;
  reason: string;
  challenge: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

type Door = (c: Case, token: string | undefined) => Promise<Outcome>;

function pemOf(client: Client | undefined): string | undefined {
  return client?.cred.certPem;
}

function fromHttp(res: Awaited<ReturnType<typeof call>>, allowReason: string): Outcome {
  return {
    status: res.status,
    reason: res.status === 200 ? allowReason : String(res.json.code),
    challenge: res.headers['www-authenticate'] as string | undefined,
    headers: res.headers,
  };
}

const DOORS: Record<string, Door> = {
  async gateway(c, token) {
    const client = c.client();
    // The own gateway: the client's own TLS connection (no certificate: an agent without one).
    const agent = client?.agent ?? env.edge;
    const res = await call(agent, env.gateway.url, c.path(), {
      method: c.method,
      ...(token ? { token } : {}),
    });
    return fromHttp(res, c.reason);
  },
  async auth_request(c, token) {
    // As nginx sends the subrequest: `proxy_set_header X-Original-Method $request_method;`,
    // `X-Original-URI $request_uri`, `X-Client-Cert $ssl_client_escaped_cert`, the client's Authorization.
    const pem = pemOf(c.client());
    const headers: Record<string, string> = {
      'x-accredit-decision-secret': SECRET,
      'x-original-method': c.method,
      'x-original-uri': c.path(),
      'x-request-id': randomUUID().replaceAll('-', ''),
    };
    if (pem) headers['x-client-cert'] = encodeURIComponent(pem);
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await call(env.edge, env.listener.url, '/auth_request', { method: 'GET', headers });
    return fromHttp(res, c.reason);
  },
  async ext_authz(c, token) {
    // As Envoy's HTTP ext_authz sends it: the client's method, path_prefix + path, no body, the allowed
    // headers, and XFCC as `forward_client_cert_details: SANITIZE_SET` with `cert: true` writes it.
    const pem = pemOf(c.client());
    const headers: Record<string, string> = {
      'x-accredit-decision-secret': SECRET,
      'x-request-id': randomUUID(),
      'x-envoy-expected-rq-timeout-ms': '200',
      'content-length': '0',
    };
    if (pem) {
      const cert = new X509Certificate(pem);
      const hash = cert.fingerprint256.replaceAll(':', '').toLowerCase();
      headers['x-forwarded-client-cert'] =
        `By=spiffe://cluster.local/ns/edge/sa/envoy;Hash=${hash};Cert="${encodeURIComponent(pem)}";Subject="${cert.subject.replaceAll('\n', ',')}"`;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await call(env.edge, env.listener.url, `/ext_authz${c.path()}`, {
      method: c.method,
      headers,
    });
    return fromHttp(res, c.reason);
  },
  async authzen(c, token) {
    const client = c.client();
    const [path, query] = c.path().split('?');
    const res = await call(env.edge, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: {
        subject: {
          type: 'client',
          id: env.reader.clientId,
          properties: {
            ...(token ? { token } : {}),
            ...(client ? { client_certificate: client.cred.certPem } : {}),
          },
        },
        action: { name: c.method },
        resource: { type: 'route', id: path, ...(query ? { properties: { query } } : {}) },
      },
    });
    assert.equal(res.status, 200, res.text);
    const context = res.json.context as { reason: string; status: number; www_authenticate?: string };
    assert.equal(res.json.decision, context.status === 200);
    return {
      status: context.status,
      reason: context.reason,
      challenge: context.www_authenticate,
      headers: {},
    };
  },
};

for (const [door, ask] of Object.entries(DOORS)) {
  describe(`the ${door} door`, () => {
    for (const c of CASES) {
      // AuthZEN names the subject, so a certificate of another client is refused there before the core.
      test(c.name, async () => {
        const token = await c.token();
        const outcome = await ask(c, token);
        assert.equal(outcome.status, c.status, `${door}: ${JSON.stringify(outcome)}`);
        if (door !== 'gateway' || c.status !== 200) assert.equal(outcome.reason, c.reason);
        if (c.status === 401) {
          assert.match(String(outcome.challenge), /^Bearer realm="accredit"/);
        }
        if (c.reason === 'insufficient_scope') assert.match(String(outcome.challenge), /insufficient_scope/);
        if (c.status === 200 && c.reason === 'allowed' && door !== 'gateway' && door !== 'authzen') {
          assert.equal(outcome.headers['x-accredit-client-id'], env.reader.clientId);
          assert.equal(outcome.headers['x-accredit-org-id'], env.reader.orgId);
          assert.equal(outcome.headers['x-accredit-cert-x5t-s256'], env.reader.cred.x5tS256);
          assert.equal(outcome.headers['x-accredit-scopes'], 'accounts:read');
        }
      });
    }
  });
}

test('ok/every door writes the same decision line, naming itself', () => {
  const decisions = env.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'gateway decision');
  const doors = new Set(decisions.map((l) => l.door));
  assert.deepEqual([...doors].sort(), ['auth_request', 'authzen', 'ext_authz', 'gateway']);
  for (const line of decisions) {
    assert.equal(JSON.stringify(line).includes('garbage.garbage'), false, 'never the token');
  }
  const revoked = decisions.filter((l) => l.reason === 'certificate_revoked');
  assert.equal(revoked.length, 4);
});
