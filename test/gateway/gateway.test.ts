import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { Agent } from 'undici';
import {
  catalogRoutesPayload,
  createApplication,
  deregisterApplication,
  readCatalog,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import {
  type CatalogRoute,
  createGateway,
  GATEWAY_SECRET_HEADER,
  type Gateway,
  type UpstreamTls,
} from '../../src/gateway/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createLivenessState } from '../../src/platform/enforcement-feed/index.ts';
import { type SampleApiHandle, startSampleApi } from '../../src/sample-api/index.ts';
import { CHANGE_KINDS, publishChange, type Storage } from '../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import {
  type CallResult,
  type ClientCredential,
  call,
  capturingLogger,
  clientAgent,
  csrWithKey,
  foreignCredential,
  JwksServer,
  type ServerTls,
  type SigningKey,
  selfSignedCredential,
  serverTlsFrom,
  signingKey,
  type TokenClaims,
  TokenMinter,
} from './fixture.ts';

const ISSUER = 'https://localhost:8443';
const AUDIENCE = 'https://localhost:9443';
const DAY = 86_400_000;
/** The sample API's operations, as the directory's seed catalog has them, with the policy every route had. */
const op = (method: string, pathPattern: string, scope: string): CatalogRoute => ({
  method,
  pathPattern,
  scopes: [[scope]],
  auth: 'token',
  mtls: 'required',
  dpop: 'refused',
});
const SAMPLE_ROUTES: CatalogRoute[] = [
  op('GET', '/v1/accounts', 'accounts:read'),
  op('GET', '/v1/accounts/{id}', 'accounts:read'),
  op('POST', '/v1/accounts', 'accounts:write'),
  op('POST', '/v1/payments', 'payments:submit'),
  op('GET', '/v1/reports/**', 'reports:download'),
];
const meta = (now = new Date()) => ({ actor: 'operator:test', now });

interface Client {
  clientId: string;
  orgId: string;
  cred: ClientCredential;
  agent: Agent;
  serial?: string;
}

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  tls: ServerTls;
  routes: CatalogRoute[];
  gateway: Gateway;
  sample: SampleApiHandle;
  jwks: JwksServer;
  minter: TokenMinter;
  lines: string[];
  tokens: Set<string>;
  acme: Partner;
  globex: Partner;
  reader: Client;
  revokable: Client;
  revokedEarlier: Client;
  expired: Client;
  globexReader: Client;
  initech: Client;
  suspendable: Client;
  selfSigned: Client;
  foreign: Client;
  unregisteredSelfSigned: Client;
  noCert: Agent;
  agents: Agent[];
  close(): Promise<void>;
}

let env: Env;

async function setup(): Promise<Env> {
  const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  const storage = await seededStorage(sqlite);
  const ca = await installCa(storage);
  const tls = await serverTlsFrom(ca);
  const acme = await createPartner(storage, 'Acme Bank');
  const globex = await createPartner(storage, 'Globex');
  const initechPartner = await createPartner(storage, 'Initech');
  const selfCred = await selfSignedCredential('acme-self-signed');
  const [suspendableId, selfSignedId] = await storage.transaction(async (tx) => [
    await createApplication(
      tx,
      { orgId: acme.orgId, name: 'Batch', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      meta(),
    ),
    await createApplication(
      tx,
      {
        orgId: acme.orgId,
        name: 'Self-signed',
        roles: ['partner_reader'],
        authMethod: 'self_signed_tls_client_auth',
        metadata: { jwks: { keys: [selfCred.jwk] } },
      },
      meta(),
    ),
  ]);

  const agents: Agent[] = [];
  const agentFor = (cred?: ClientCredential) => {
    const agent = clientAgent(ca.chainPem, cred);
    agents.push(agent);
    return agent;
  };
  const issue = async (clientId: string, orgId: string, now = new Date()): Promise<Client> => {
    const { csrPem, keyPem } = await csrWithKey();
    const view = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta(now)));
    const cred = { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 };
    return { clientId, orgId, cred, agent: agentFor(cred), serial: view.serial };
  };
  const reader = await issue(acme.clientId, acme.orgId);
  const revokable = await issue(acme.clientId, acme.orgId);
  const revokedEarlier = await issue(acme.clientId, acme.orgId);
  // 90-day certificate issued 100 days ago: chained to the CA, expired ten days since.
  const expired = await issue(acme.clientId, acme.orgId, new Date(Date.now() - 100 * DAY));
  const globexReader = await issue(globex.clientId, globex.orgId);
  const initech = await issue(initechPartner.clientId, initechPartner.orgId);
  const suspendable = await issue(suspendableId, acme.orgId);
  await storage.transaction((tx) => ca.revoke(tx, revokedEarlier.serial as string, 'keyCompromise', meta()));
  const foreignCred = await foreignCredential(acme.clientId, acme.orgId);
  const strangerCred = await selfSignedCredential('stranger');

  const key = await signingKey('k1');
  const jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  const sample = await startSampleApi();
  const liveness = await createLivenessState(storage);
  const routes = catalogRoutesPayload(await readCatalog(storage.db));
  // The seed catalog, as the directory publishes it, is the sample API's table.
  const routeKey = (r: CatalogRoute) => `${r.method} ${r.pathPattern}`;
  assert.deepEqual(
    [...routes].sort((a, b) => routeKey(a).localeCompare(routeKey(b))),
    [...SAMPLE_ROUTES].sort((a, b) => routeKey(a).localeCompare(routeKey(b))),
  );
  const { logger, lines } = capturingLogger();
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
    tls: { ...tls, ca: ca.chainPem },
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: ca.chainPem,
    liveness,
    routes,
    upstream: sample.url,
    upstreamSecret: sample.gatewaySecret,
    logger,
    jwksCooldownMs: 0,
  });

  return {
    storage,
    ca,
    tls,
    routes,
    gateway,
    sample,
    jwks,
    minter: new TokenMinter(ISSUER, AUDIENCE, key),
    lines,
    tokens: new Set(),
    acme,
    globex,
    reader,
    revokable,
    revokedEarlier,
    expired,
    globexReader,
    initech,
    suspendable,
    selfSigned: { clientId: selfSignedId, orgId: acme.orgId, cred: selfCred, agent: agentFor(selfCred) },
    foreign: { clientId: acme.clientId, orgId: acme.orgId, cred: foreignCred, agent: agentFor(foreignCred) },
    unregisteredSelfSigned: {
      clientId: acme.clientId,
      orgId: acme.orgId,
      cred: strangerCred,
      agent: agentFor(strangerCred),
    },
    noCert: agentFor(),
    agents,
    async close() {
      for (const agent of agents) await agent.close();
      await gateway.close();
      liveness.close();
      await sample.close();
      await jwks.close();
      await storage.close();
    },
  };
}

before(async () => {
  env = await setup();
});
after(() => env?.close());

/** A valid token for `client`, bound to its certificate, with `overrides` applied (undefined removes). */
/** A second gateway over the suite's storage, keys and routes, in front of another upstream. */
async function gatewayFor(upstream: string, upstreamSecret?: string, upstreamTls?: UpstreamTls) {
  const { logger, lines } = capturingLogger();
  const liveness = await createLivenessState(env.storage);
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
    tls: { ...env.tls, ca: env.ca.chainPem },
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: env.jwks.url,
    jwksCa: env.ca.chainPem,
    liveness,
    routes: env.routes,
    upstream,
    ...(upstreamSecret === undefined ? {} : { upstreamSecret }),
    ...(upstreamTls === undefined ? {} : { upstreamTls }),
    logger,
  });
  return {
    url: gateway.url,
    lines,
    async close() {
      await gateway.close();
    },
  };
}

async function tokenFor(
  client: Client,
  scope = 'accounts:read',
  overrides: TokenClaims = {},
  header: { typ?: string; kid?: string } = {},
  key?: SigningKey,
): Promise<string> {
  const claims = {
    ...env.minter.claims(client.clientId, client.orgId, client.cred.x5tS256, scope),
    ...overrides,
  };
  const token = await env.minter.sign(claims, header, key?.privateKey);
  env.tokens.add(token);
  return token;
}

function get(client: Client | Agent, path: string, token?: string, headers?: Record<string, string>) {
  const agent = 'agent' in client ? client.agent : client;
  return call(agent, env.gateway.url, path, { token, headers });
}

function assertRefused(res: CallResult, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.json.code, code);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
}

interface NegativeCase {
  name: string;
  status: number;
  code: string;
  /** Expected WWW-Authenticate; undefined: not checked. */
  challenge?: RegExp;
  send(): Promise<CallResult>;
}

const INVALID_TOKEN = /^Bearer realm="accredit", error="invalid_token", error_description="[^"]+"$/;

const negativeCases: NegativeCase[] = [
  {
    name: 'fail/no client certificate',
    status: 403,
    code: 'client_certificate_required',
    send: async () => get(env.noCert, '/v1/accounts', await tokenFor(env.reader)),
  },
  {
    name: 'fail/certificate from a foreign CA',
    status: 403,
    code: 'certificate_untrusted',
    send: async () => get(env.foreign, '/v1/accounts', await tokenFor(env.foreign)),
  },
  {
    name: 'fail/self-signed certificate no client registered',
    status: 403,
    code: 'certificate_untrusted',
    send: async () => get(env.unregisteredSelfSigned, '/health'),
  },
  {
    name: 'fail/revoked certificate (revoked before the gateway started)',
    status: 403,
    code: 'certificate_revoked',
    send: async () => get(env.revokedEarlier, '/v1/accounts', await tokenFor(env.revokedEarlier)),
  },
  {
    name: 'fail/expired certificate',
    status: 403,
    code: 'certificate_expired',
    send: async () => get(env.expired, '/v1/accounts', await tokenFor(env.expired)),
  },
  {
    name: 'fail/missing token (RFC 6750 §3.1: challenge without error)',
    status: 401,
    code: 'token_missing',
    challenge: /^Bearer realm="accredit"$/,
    send: () => get(env.reader, '/v1/accounts'),
  },
  {
    name: 'fail/malformed token',
    status: 401,
    code: 'token_malformed',
    challenge: INVALID_TOKEN,
    send: () => get(env.reader, '/v1/accounts', 'abc.def.ghi'),
  },
  {
    name: 'fail/not a b64token',
    status: 401,
    code: 'token_malformed',
    challenge: INVALID_TOKEN,
    send: () => get(env.reader, '/v1/accounts', 'not a "token"'),
  },
  {
    name: 'fail/alg none (RFC 8725 §3.1)',
    status: 401,
    code: 'token_algorithm_not_allowed',
    challenge: INVALID_TOKEN,
    send: () =>
      get(
        env.reader,
        '/v1/accounts',
        env.minter.unsecured(
          env.minter.claims(env.acme.clientId, env.acme.orgId, env.reader.cred.x5tS256, 'accounts:read'),
        ),
      ),
  },
  {
    name: 'fail/HS256 keyed with the public key (algorithm confusion)',
    status: 401,
    code: 'token_algorithm_not_allowed',
    challenge: INVALID_TOKEN,
    send: () =>
      get(
        env.reader,
        '/v1/accounts',
        env.minter.hs256WithPublicKey(
          env.minter.claims(env.acme.clientId, env.acme.orgId, env.reader.cred.x5tS256, 'accounts:read'),
        ),
      ),
  },
  {
    name: 'fail/signed by a foreign key with an unknown kid',
    status: 401,
    code: 'token_key_unknown',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', {}, { kid: 'evil' }, await signingKey('evil')),
      ),
  },
  {
    name: 'fail/signed by a foreign key under the known kid',
    status: 401,
    code: 'token_signature_invalid',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', {}, {}, await signingKey('k1')),
      ),
  },
  {
    name: 'fail/typ JWT instead of at+jwt (RFC 9068 §4)',
    status: 401,
    code: 'token_type_invalid',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(env.reader, '/v1/accounts', await tokenFor(env.reader, 'accounts:read', {}, { typ: 'JWT' })),
  },
  {
    name: 'fail/another issuer',
    status: 401,
    code: 'token_issuer_invalid',
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { iss: 'https://evil.example' }),
      ),
  },
  {
    name: 'fail/another audience',
    status: 401,
    code: 'token_audience_invalid',
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { aud: 'https://other-api.example' }),
      ),
  },
  {
    name: 'fail/expired token',
    status: 401,
    code: 'token_expired',
    challenge: INVALID_TOKEN,
    send: async () => {
      const now = Math.floor(Date.now() / 1000);
      return get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { iat: now - 600, exp: now - 60 }),
      );
    },
  },
  {
    name: 'fail/nbf in the future',
    status: 401,
    code: 'token_not_yet_valid',
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { nbf: Math.floor(Date.now() / 1000) + 120 }),
      ),
  },
  {
    name: 'fail/token without jti (RFC 9068 §2.2)',
    status: 401,
    code: 'token_claims_invalid',
    send: async () =>
      get(env.reader, '/v1/accounts', await tokenFor(env.reader, 'accounts:read', { jti: undefined })),
  },
  {
    name: 'fail/token bound to another certificate (RFC 8705 §3)',
    status: 401,
    code: 'token_binding_mismatch',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { cnf: { 'x5t#S256': env.globexReader.cred.x5tS256 } }),
      ),
  },
  {
    name: 'fail/token without cnf',
    status: 401,
    code: 'token_not_bound',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(env.reader, '/v1/accounts', await tokenFor(env.reader, 'accounts:read', { cnf: undefined })),
  },
  {
    name: 'fail/unknown client',
    status: 401,
    code: 'client_unknown',
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { client_id: 'cl_ghost', sub: 'cl_ghost' }),
      ),
  },
  {
    name: "fail/token claims another org than its client's",
    status: 401,
    code: 'org_mismatch',
    send: async () =>
      get(
        env.reader,
        '/v1/accounts',
        await tokenFor(env.reader, 'accounts:read', { org_id: env.globex.orgId }),
      ),
  },
  {
    name: 'fail/insufficient scope',
    status: 403,
    code: 'insufficient_scope',
    challenge:
      /^Bearer realm="accredit", error="insufficient_scope", error_description="[^"]+", scope="payments:submit"$/,
    send: async () =>
      call(env.reader.agent, env.gateway.url, '/v1/payments', {
        method: 'POST',
        token: await tokenFor(env.reader, 'accounts:read'),
        body: { from_account: 'acc_x', amount: '1.00', currency: 'EUR' },
      }),
  },
  {
    name: 'fail/unknown route is denied by default',
    status: 404,
    code: 'route_not_found',
    send: async () => get(env.reader, '/v1/secrets', await tokenFor(env.reader)),
  },
  {
    name: 'fail/method not in the catalog',
    status: 404,
    code: 'route_not_found',
    send: async () =>
      call(env.reader.agent, env.gateway.url, '/v1/accounts', {
        method: 'DELETE',
        token: await tokenFor(env.reader, 'accounts:read accounts:write'),
      }),
  },
  {
    name: 'fail/path traversal /v1/accounts/../payments',
    status: 400,
    code: 'invalid_path',
    send: async () => get(env.reader, '/v1/accounts/../payments', await tokenFor(env.reader)),
  },
  {
    name: 'fail/encoded dot segments',
    status: 400,
    code: 'invalid_path',
    send: async () => get(env.reader, '/v1/accounts/%2e%2E/payments', await tokenFor(env.reader)),
  },
  {
    name: 'fail/encoded slash',
    status: 400,
    code: 'invalid_path',
    send: async () => get(env.reader, '/v1/accounts%2F..%2Fpayments', await tokenFor(env.reader)),
  },
  {
    name: 'fail/backslash',
    status: 400,
    code: 'invalid_path',
    send: async () => get(env.reader, '/v1/accounts\\..\\payments', await tokenFor(env.reader)),
  },
  {
    name: 'fail/token in the query string (RFC 6750 §2.3)',
    status: 400,
    code: 'token_in_query',
    challenge: /error="invalid_request"/,
    send: async () => get(env.reader, `/v1/accounts?access_token=${await tokenFor(env.reader)}`),
  },
  {
    name: 'fail/DPoP scheme on an operation that refuses DPoP',
    status: 401,
    code: 'dpop_not_accepted',
    challenge: INVALID_TOKEN,
    send: async () =>
      get(env.reader, '/v1/accounts', undefined, { authorization: `DPoP ${await tokenFor(env.reader)}` }),
  },
  {
    name: 'fail/Bearer without a token',
    status: 401,
    code: 'token_malformed',
    challenge: INVALID_TOKEN,
    send: () => get(env.reader, '/v1/accounts', undefined, { authorization: 'Bearer' }),
  },
  {
    name: 'fail/Basic scheme',
    status: 401,
    code: 'token_missing',
    challenge: /error="invalid_request"/,
    send: () => get(env.reader, '/v1/accounts', undefined, { authorization: 'Basic YTpi' }),
  },
];

describe('gateway refuses', () => {
  for (const c of negativeCases) {
    test(c.name, async () => {
      const res = await c.send();
      assertRefused(res, c.status, c.code);
      assert.equal(typeof res.json.detail, 'string');
      if (c.challenge) assert.match(String(res.headers['www-authenticate']), c.challenge);
      if (res.status === 401)
        assert.ok(res.headers['www-authenticate'], 'RFC 9110 §11.6.1: a 401 has a challenge');
      for (const token of env.tokens)
        assert.ok(!res.text.includes(token), 'no token material in the response');
    });
  }
});

describe('gateway allows', () => {
  test('ok/health with a client certificate only', async () => {
    const res = await get(env.reader, '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  test('fail/health without a client certificate', async () => {
    assertRefused(await get(env.noCert, '/health'), 403, 'client_certificate_required');
  });

  test('ok/GET /v1/accounts answers for the caller org', async () => {
    const res = await get(env.reader, '/v1/accounts', await tokenFor(env.reader));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.org_id, env.acme.orgId);
    assert.equal((res.json.accounts as unknown[]).length, 2);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('ok/registered self-signed certificate (RFC 8705 §2.2)', async () => {
    const res = await get(env.selfSigned, '/v1/accounts', await tokenFor(env.selfSigned));
    assert.equal(res.status, 200, res.text);
  });

  test('fail/registered self-signed certificate used with another client’s token', async () => {
    const token = await tokenFor({ ...env.reader, cred: env.selfSigned.cred });
    assertRefused(await get(env.selfSigned, '/v1/accounts', token), 403, 'certificate_client_mismatch');
  });

  test('ok/POST /v1/accounts, POST /v1/payments and GET /v1/reports/{name}', async () => {
    const token = await tokenFor(env.reader, 'accounts:read accounts:write payments:submit reports:download');
    const created = await call(env.reader.agent, env.gateway.url, '/v1/accounts', {
      method: 'POST',
      token,
      body: { name: 'Escrow' },
    });
    assert.equal(created.status, 201, created.text);
    const paid = await call(env.reader.agent, env.gateway.url, '/v1/payments', {
      method: 'POST',
      token,
      body: { from_account: created.json.id, amount: '10.00', currency: 'EUR' },
    });
    assert.equal(paid.status, 201, paid.text);
    const report = await get(env.reader, '/v1/reports/monthly', token);
    assert.equal(report.status, 200);
    assert.match(String(report.headers['content-type']), /^text\/csv/);
    assert.match(report.text, /^account_id,name,currency,balance\n/);
  });

  test('fail/spoofed x-accredit-org-id: the upstream sees the real org', async () => {
    const res = await get(env.reader, '/v1/accounts', await tokenFor(env.reader), {
      'x-accredit-org-id': env.globex.orgId,
      'x-accredit-client-id': env.globex.clientId,
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.org_id, env.acme.orgId);
  });

  test("fail/BOLA: another org's account is the upstream's 404", async () => {
    const theirs = await get(env.globexReader, '/v1/accounts', await tokenFor(env.globexReader));
    const theirId = (theirs.json.accounts as Array<{ id: string }>)[0]?.id as string;
    const ours = await get(env.reader, '/v1/accounts', await tokenFor(env.reader));
    const ourId = (ours.json.accounts as Array<{ id: string }>)[0]?.id as string;
    assert.notEqual(theirId, ourId);
    const token = await tokenFor(env.reader, 'accounts:read payments:submit');
    assertRefused(await get(env.reader, `/v1/accounts/${theirId}`, token), 404, 'not_found');
    assert.equal((await get(env.reader, `/v1/accounts/${ourId}`, token)).status, 200);
    const pay = await call(env.reader.agent, env.gateway.url, '/v1/payments', {
      method: 'POST',
      token,
      body: { from_account: theirId, amount: '5.00', currency: 'EUR' },
    });
    assertRefused(pay, 404, 'not_found');
  });

  test('ok/the upstream receives identity headers and no credentials', async () => {
    const seen: Array<{ url: string | undefined; headers: Record<string, unknown> }> = [];
    const echo = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      // An upstream that reflects request headers: the secret must still not reach the client.
      res.writeHead(200, {
        'content-type': 'text/plain',
        [GATEWAY_SECRET_HEADER]: String(req.headers[GATEWAY_SECRET_HEADER]),
      });
      res.end('ok');
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const secret = 'e'.repeat(43);
    const gateway = await gatewayFor(`http://127.0.0.1:${(echo.address() as AddressInfo).port}/base`, secret);
    try {
      const token = await tokenFor(env.reader, 'accounts:read reports:download');
      const res = await call(env.reader.agent, gateway.url, '/v1/reports/q1?format=csv', {
        token,
        headers: {
          [GATEWAY_SECRET_HEADER]: 'chosen-by-client-chosen-by-client-chosen',
          'x-accredit-org-id': 'org_evil',
          'x-accredit-extra': 'spoofed',
          'client-cert': ':MIIB:',
          'x-forwarded-for': '203.0.113.9',
          'x-request-id': 'chosen-by-client',
          'x-custom': 'kept',
          // Forms an upstream could read as an identity: `_` for `-` (CGI/WSGI), proxies' verify results.
          x_accredit_org_id: 'org_evil',
          'x-ssl-client-verify': 'SUCCESS',
          'x-ssl-client-s-dn': 'CN=cl_admin',
          'x-forwarded-client-cert': 'Hash=abc;Subject="CN=cl_admin"',
        },
      });
      assert.equal(res.status, 200);
      const [request] = seen;
      assert.ok(request);
      assert.equal(request.url, '/base/v1/reports/q1?format=csv');
      const h = request.headers;
      assert.equal(h['x-accredit-client-id'], env.acme.clientId);
      assert.equal(h['x-accredit-org-id'], env.acme.orgId);
      assert.equal(h['x-accredit-scopes'], 'accounts:read reports:download');
      assert.equal(h['x-accredit-roles'], 'partner_reader');
      assert.equal(h['x-accredit-cert-x5t-s256'], env.reader.cred.x5tS256);
      assert.match(String(h['x-accredit-token-jti']), /^[0-9a-f-]{36}$/);
      assert.equal(h[GATEWAY_SECRET_HEADER], secret, 'the configured secret, not the client’s');
      assert.equal(res.headers[GATEWAY_SECRET_HEADER], undefined, 'the secret is never sent back');
      assert.ok(!gateway.lines.some((l) => l.includes(secret)), 'the secret reached the log');
      assert.ok(!gateway.lines.some((l) => l.includes('INSECURE')));
      assert.equal(h['x-request-id'], res.headers['x-request-id']);
      assert.notEqual(h['x-request-id'], 'chosen-by-client');
      assert.equal(h['x-forwarded-for'], '127.0.0.1');
      assert.equal(h['x-custom'], 'kept');
      for (const gone of [
        'authorization',
        'client-cert',
        'x-accredit-extra',
        'x_accredit_org_id',
        'x-ssl-client-verify',
        'x-ssl-client-s-dn',
        'x-forwarded-client-cert',
      ]) {
        assert.equal(h[gone], undefined, `${gone} must not reach the upstream`);
      }
    } finally {
      await gateway.close();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  test('fail/a client sending the upstream secret itself cannot reach the upstream with it', async () => {
    // A gateway without a secret in front of the embedded sample API: the client's copy is stripped.
    const gateway = await gatewayFor(env.sample.url);
    try {
      const res = await call(env.reader.agent, gateway.url, '/v1/accounts', {
        token: await tokenFor(env.reader),
        headers: { [GATEWAY_SECRET_HEADER]: env.sample.gatewaySecret },
      });
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.code, 'not_from_gateway');
      const warning = gateway.lines.find((l) => l.includes('INSECURE'));
      assert.ok(warning, 'a gateway without an upstream secret warns at start-up');
      assert.equal((JSON.parse(warning) as { level: number }).level, 40);
    } finally {
      await gateway.close();
    }
  });

  test('ok/the gateway’s secret opens the embedded sample API; the client’s does not leak into logs', async () => {
    const res = await get(env.reader, '/v1/accounts', await tokenFor(env.reader), {
      [GATEWAY_SECRET_HEADER]: 'w'.repeat(43),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.org_id, env.acme.orgId);
    assert.ok(!env.lines.some((l) => l.includes(env.sample.gatewaySecret)));
  });

  for (const secret of ['', 's'.repeat(31), `${'s'.repeat(32)}\r\nx-accredit-org-id: org_evil`]) {
    test(`fail/upstreamSecret ${JSON.stringify(secret.slice(0, 40))} stops the gateway at boot`, async () => {
      await assert.rejects(gatewayFor(env.sample.url, secret), /^Error: gateway\.upstreamSecret: /);
    });
  }

  test('ok/mTLS to an https upstream: the gateway presents its client certificate', async () => {
    // An upstream that admits only clients with a certificate from the platform CA (the gateway's own).
    const seen: unknown[] = [];
    const upstream = createHttpsServer(
      { ...env.tls, ca: env.ca.chainPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        seen.push((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      },
    );
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(upstream.address() as AddressInfo).port}`;
    const { certPem: cert, keyPem: key } = env.globexReader.cred;
    const withCert = await gatewayFor(url, 'm'.repeat(43), { ca: env.ca.chainPem, cert, key });
    const withoutCert = await gatewayFor(url, 'm'.repeat(43), { ca: env.ca.chainPem });
    const untrusted = await gatewayFor(url, 'm'.repeat(43), { cert, key });
    try {
      const token = await tokenFor(env.reader);
      const ok = await call(env.reader.agent, withCert.url, '/v1/accounts', { token });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(seen, [env.globex.clientId]);
      const refused = await call(env.reader.agent, withoutCert.url, '/v1/accounts', { token });
      assertRefused(refused, 502, 'upstream_unavailable');
      // The upstream's certificate chains to the platform CA, not to the system store.
      assertRefused(
        await call(env.reader.agent, untrusted.url, '/v1/accounts', { token }),
        502,
        'upstream_unavailable',
      );
      assert.equal(seen.length, 1);
    } finally {
      for (const g of [withCert, withoutCert, untrusted]) await g.close();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  const badTls: Array<[string, string, UpstreamTls]> = [
    ['fail/upstreamTls for an http upstream', 'http://127.0.0.1:1', { ca: 'x' }],
    ['fail/upstreamTls cert without key', 'https://127.0.0.1:1', { cert: 'x' }],
    ['fail/upstreamTls key without cert', 'https://127.0.0.1:1', { key: 'x' }],
    ['fail/upstreamTls with an empty ca', 'https://127.0.0.1:1', { ca: '' }],
  ];
  for (const [name, url, tls] of badTls) {
    test(`${name} stops the gateway at boot`, async () => {
      await assert.rejects(gatewayFor(url, undefined, tls), /^Error: gateway\.upstreamTls/);
    });
  }

  test('fail/upstream down is a 502 problem', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gateway = await gatewayFor(`http://127.0.0.1:${port}`);
    try {
      const res = await call(env.reader.agent, gateway.url, '/v1/accounts', {
        token: await tokenFor(env.reader),
      });
      assertRefused(res, 502, 'upstream_unavailable');
    } finally {
      await gateway.close();
    }
  });

  test('ok/a client that leaves before the upstream answers aborts the upstream request', async () => {
    let upstreamGone: () => void = () => {};
    const gone = new Promise<void>((resolve) => {
      upstreamGone = resolve;
    });
    let arrived: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    // Never answers: only the gateway giving up on the request ends it.
    const stuck = createServer((req) => {
      req.socket.once('close', upstreamGone);
      arrived();
    });
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    const gateway = await gatewayFor(`http://127.0.0.1:${(stuck.address() as AddressInfo).port}`);
    try {
      const leaving = new AbortController();
      const pending = env.reader.agent
        .request({
          origin: gateway.url,
          path: '/v1/accounts',
          method: 'GET',
          headers: { authorization: `Bearer ${await tokenFor(env.reader)}` },
          signal: leaving.signal,
        })
        .catch((err: Error) => err);
      await reached;
      leaving.abort();
      assert.ok((await pending) instanceof Error);
      // Well before the upstream timeout (30 s), which would otherwise be what ends the request.
      const outcome = await Promise.race([
        gone.then(() => 'aborted'),
        new Promise((resolve) => setTimeout(resolve, 3000, 'still open')),
      ]);
      assert.equal(outcome, 'aborted');
    } finally {
      await gateway.close();
      stuck.closeAllConnections();
      await new Promise<void>((resolve) => stuck.close(() => resolve()));
    }
  });

  test('ok/JWKS is refetched on an unknown kid (key rotation)', async () => {
    const rotated = await signingKey('k2');
    env.jwks.keys.push(rotated.publicJwk);
    const before = env.jwks.fetches;
    const res = await get(
      env.reader,
      '/v1/accounts',
      await tokenFor(env.reader, 'accounts:read', {}, { kid: 'k2' }, rotated),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(env.jwks.fetches, before + 1);
  });
});

describe('liveness: the very next request after a change is refused', () => {
  test('ok/verified-token cache still refuses after the token is revoked', async () => {
    const claims = env.minter.claims(
      env.acme.clientId,
      env.acme.orgId,
      env.reader.cred.x5tS256,
      'accounts:read',
    );
    const token = await env.minter.sign(claims);
    env.tokens.add(token);
    assert.equal((await get(env.reader, '/v1/accounts', token)).status, 200);
    assert.equal(
      (await get(env.reader, '/v1/accounts', token)).status,
      200,
      'served from the verified-token cache',
    );
    await env.storage.transaction((tx) =>
      publishChange(
        tx,
        {
          kind: CHANGE_KINDS.tokenRevoked,
          entityId: claims.jti as string,
          payload: { jti: claims.jti, exp: claims.exp, client_id: env.acme.clientId },
        },
        new Date(),
      ),
    );
    const res = await get(env.reader, '/v1/accounts', token);
    assertRefused(res, 401, 'token_revoked');
    assert.match(String(res.headers['www-authenticate']), INVALID_TOKEN);
    assert.equal(
      (await get(env.reader, '/v1/accounts', await tokenFor(env.reader))).status,
      200,
      'other tokens still work',
    );
  });

  test('fail/certificate revoked while the connection stays open', async () => {
    const token = await tokenFor(env.revokable);
    assert.equal((await get(env.revokable, '/v1/accounts', token)).status, 200);
    await env.storage.transaction((tx) =>
      env.ca.revoke(tx, env.revokable.serial as string, 'keyCompromise', meta()),
    );
    assertRefused(await get(env.revokable, '/v1/accounts', token), 403, 'certificate_revoked');
    assertRefused(await get(env.revokable, '/health'), 403, 'certificate_revoked');
  });

  test('fail/suspended client', async () => {
    const token = await tokenFor(env.suspendable);
    assert.equal((await get(env.suspendable, '/v1/accounts', token)).status, 200);
    await env.storage.transaction((tx) =>
      setApplicationStatus(tx, env.suspendable.clientId, 'suspended', meta()),
    );
    assertRefused(await get(env.suspendable, '/v1/accounts', token), 403, 'client_suspended');
  });

  test('fail/suspended organisation', async () => {
    const token = await tokenFor(env.initech);
    assert.equal((await get(env.initech, '/v1/accounts', token)).status, 200);
    await env.storage.transaction((tx) => setOrganisationStatus(tx, env.initech.orgId, 'suspended', meta()));
    assertRefused(await get(env.initech, '/v1/accounts', token), 403, 'org_suspended');
  });

  test('ok/app.registered makes a new client known at once', async () => {
    const ghost = { ...env.reader, clientId: 'cl_ghost' };
    const token = await tokenFor(ghost, 'accounts:read', { sub: 'cl_ghost' });
    assertRefused(await get(env.reader, '/v1/accounts', token), 401, 'client_unknown');
    await env.storage.transaction((tx) =>
      publishChange(
        tx,
        {
          kind: CHANGE_KINDS.appRegistered,
          entityId: 'cl_ghost',
          payload: {
            org_id: env.acme.orgId,
            status: 'active',
            auth_method: 'tls_client_auth',
            self_signed_x5t: [],
            // As a dynamically registered client of Acme's software, it presents the software's certificate.
            certificate_apps: [env.acme.clientId],
          },
        },
        new Date(),
      ),
    );
    assert.equal((await get(env.reader, '/v1/accounts', token)).status, 200);
  });
});

describe('decision log', () => {
  test('ok/one line per decision, with reason and identity, never the token', () => {
    const decisions = env.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'decision' in l);
    assert.ok(decisions.length > negativeCases.length);
    for (const token of env.tokens) {
      for (const line of env.lines) assert.ok(!line.includes(token), 'a token reached the log');
    }
    const revoked = decisions.find((d) => d.reason === 'token_revoked');
    assert.ok(revoked);
    assert.equal(revoked.decision, 'deny');
    assert.equal(revoked.status, 401);
    assert.equal(revoked.client_id, env.acme.clientId);
    assert.equal(revoked.org_id, env.acme.orgId);
    assert.equal(revoked.route, '/v1/accounts');
    assert.equal(revoked.cert_x5t_s256, env.reader.cred.x5tS256);
    assert.match(String(revoked.cert_subject), new RegExp(`CN=${env.acme.clientId}`));
    assert.equal(typeof revoked.latency_ms, 'number');
    assert.equal(typeof revoked.jti, 'string');
    const stats = env.gateway.stats();
    assert.ok((stats.allowed.ok ?? 0) > 5);
    assert.equal(stats.denied.token_revoked, 1);
    assert.equal(stats.denied.certificate_untrusted, 2);
  });

  test('fail/a token in the path never reaches the decision line: a catalog route, an unknown route, an invalid path', async () => {
    const jwt = await tokenFor(env.reader);
    const opaque = randomBytes(32).toString('base64url');
    const cases = [
      // [request path, logged path, logged route, status]
      [`/v1/accounts/${jwt}`, '/v1/accounts/[redacted]', '/v1/accounts/{id}', 404],
      [`/v1/accounts/${opaque}`, '/v1/accounts/[redacted]', '/v1/accounts/{id}', 404],
      [`/${jwt}`, '/[redacted]', undefined, 404],
      [`/v1/accounts/${jwt}/..`, '/v1/accounts/[redacted]/..', undefined, 400],
      [`/v1/accounts/${opaque}?access_token=${opaque}`, '/v1/accounts/[redacted]', '/v1/accounts/{id}', 400],
      ['/v1/accounts/acc_Ab-dE_GhIjKlMnOp', '/v1/accounts/acc_Ab-dE_GhIjKlMnOp', '/v1/accounts/{id}', 404],
      [
        '/v1/nowhere/0b6f3c8e-2d7a-4f4b-9e1c-5a6d7e8f9a0b',
        '/v1/nowhere/0b6f3c8e-2d7a-4f4b-9e1c-5a6d7e8f9a0b',
        undefined,
        404,
      ],
    ] as const;
    for (const [path, logged, route, status] of cases) {
      const from = env.lines.length;
      const res = await get(env.reader, path, jwt);
      assert.equal(res.status, status, `${logged}: ${res.text}`);
      const requestId = String(res.headers['x-request-id'] ?? res.json.request_id);
      // An allowed request's line is written once the upstream's answer has been relayed: give it a moment.
      let line: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && !line; i++) {
        line = env.lines
          .slice(from)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.request_id === requestId);
        if (!line) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(line, `a decision line for ${logged}`);
      assert.equal(line.path, logged);
      assert.equal(line.route, route);
      for (const l of env.lines.slice(from)) {
        assert.ok(!l.includes(jwt) && !l.includes(opaque), `no token in the log: ${l}`);
      }
    }
  });
});

/** A new application of `orgId` with its own platform-issued certificate (state changes stay its own). */
async function newClient(
  orgId: string,
  name: string,
  input: { authMethod?: string; metadata?: Record<string, unknown> } = {},
): Promise<Client> {
  const clientId = await env.storage.transaction((tx) =>
    createApplication(
      tx,
      {
        orgId,
        name,
        roles: ['partner_reader'],
        authMethod: input.authMethod ?? 'tls_client_auth',
        ...(input.metadata ? { metadata: input.metadata } : {}),
      },
      meta(),
    ),
  );
  const { csrPem, keyPem } = await csrWithKey();
  const view = await env.storage.transaction((tx) => env.ca.issue(tx, { clientId, csrPem }, meta()));
  const cred = { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 };
  const agent = clientAgent(env.ca.chainPem, cred);
  env.agents.push(agent);
  return { clientId, orgId, cred, agent, serial: view.serial };
}

/** A self-signed client (RFC 8705 §2.2) of `orgId`, registered with its certificate. */
async function newSelfSignedClient(orgId: string, name: string): Promise<Client> {
  const cred = await selfSignedCredential(name);
  const clientId = await env.storage.transaction((tx) =>
    createApplication(
      tx,
      {
        orgId,
        name,
        roles: ['partner_reader'],
        authMethod: 'self_signed_tls_client_auth',
        metadata: { jwks: { keys: [cred.jwk] } },
      },
      meta(),
    ),
  );
  const agent = clientAgent(env.ca.chainPem, cred);
  env.agents.push(agent);
  return { clientId, orgId, cred, agent };
}

describe('a certificate works only for its own, active application', () => {
  test('fail/another application of the same organisation binds a token to its certificate', async () => {
    const x = await newClient(env.acme.orgId, 'Cert owner');
    // App P (the reader) got a token bound to X's certificate, as a private_key_jwt client could ask for.
    const token = await tokenFor({ ...env.reader, cred: x.cred });
    assertRefused(await get(x, '/v1/accounts', token), 403, 'certificate_client_mismatch');
    assert.equal((await get(x, '/v1/accounts', await tokenFor(x))).status, 200, 'its own token works');
  });

  test('fail/a suspended application’s certificate: no token binds to it, /health refuses it', async () => {
    const x = await newClient(env.acme.orgId, 'Suspended owner');
    const foreignToken = await tokenFor({ ...env.reader, cred: x.cred });
    const ownToken = await tokenFor(x);
    assert.equal((await get(x, '/health')).status, 200);
    await env.storage.transaction((tx) => setApplicationStatus(tx, x.clientId, 'suspended', meta()));
    assertRefused(await get(x, '/v1/accounts', foreignToken), 403, 'certificate_client_mismatch');
    assertRefused(await get(x, '/v1/accounts', ownToken), 403, 'client_suspended');
    assertRefused(await get(x, '/health'), 403, 'certificate_application_inactive');
  });

  test('fail/another organisation’s token bound to the certificate', async () => {
    const x = await newClient(env.acme.orgId, 'Cross-org owner');
    const token = await tokenFor({ ...env.globexReader, cred: x.cred });
    assertRefused(await get(x, '/v1/accounts', token), 403, 'certificate_client_mismatch');
  });

  test('ok/a dynamic client presents its software’s certificate while the software is active', async () => {
    const software = await newClient(env.acme.orgId, 'Software');
    const dynamicId = 'cl_dynamic_of_software';
    await env.storage.transaction((tx) =>
      publishChange(
        tx,
        {
          kind: CHANGE_KINDS.appRegistered,
          entityId: dynamicId,
          payload: {
            org_id: env.acme.orgId,
            status: 'active',
            auth_method: 'tls_client_auth',
            self_signed_x5t: [],
            certificate_apps: [software.clientId],
          },
        },
        new Date(),
      ),
    );
    const token = await tokenFor({ ...software, clientId: dynamicId });
    assert.equal((await get(software, '/v1/accounts', token)).status, 200);
    await env.storage.transaction((tx) => setApplicationStatus(tx, software.clientId, 'suspended', meta()));
    assertRefused(await get(software, '/v1/accounts', token), 403, 'certificate_application_inactive');
  });

  test('fail/a dynamic client of another organisation naming the software', async () => {
    const software = await newClient(env.acme.orgId, 'Software elsewhere');
    const dynamicId = 'cl_dynamic_other_org';
    await env.storage.transaction((tx) =>
      publishChange(
        tx,
        {
          kind: CHANGE_KINDS.appRegistered,
          entityId: dynamicId,
          payload: {
            org_id: env.globex.orgId,
            status: 'active',
            auth_method: 'tls_client_auth',
            self_signed_x5t: [],
            certificate_apps: [software.clientId],
          },
        },
        new Date(),
      ),
    );
    const token = await tokenFor({ ...software, clientId: dynamicId, orgId: env.globex.orgId });
    assertRefused(await get(software, '/v1/accounts', token), 403, 'certificate_client_mismatch');
  });

  test('fail/a deleted client’s token is invalid (RFC 6750 §3.1: 401 with a challenge)', async () => {
    const x = await newClient(env.acme.orgId, 'Deleted');
    const token = await tokenFor(x);
    assert.equal((await get(x, '/v1/accounts', token)).status, 200);
    await env.storage.transaction((tx) =>
      deregisterApplication(tx, x.clientId, { ...meta(), reason: 'test: client deleted' }),
    );
    const res = await get(x, '/v1/accounts', token);
    assertRefused(res, 401, 'client_deleted');
    assert.match(String(res.headers['www-authenticate']), INVALID_TOKEN);
  });
});

describe('a registered self-signed certificate works only while its client and organisation are active', () => {
  const cases = [
    {
      name: 'fail/client suspended',
      change: (c: Client) =>
        env.storage.transaction((tx) => setApplicationStatus(tx, c.clientId, 'suspended', meta())),
    },
    {
      name: 'fail/client deleted',
      change: (c: Client) =>
        env.storage.transaction((tx) =>
          deregisterApplication(tx, c.clientId, { ...meta(), reason: 'test: client deleted' }),
        ),
    },
    {
      name: 'fail/organisation suspended',
      change: (c: Client) =>
        env.storage.transaction((tx) => setOrganisationStatus(tx, c.orgId, 'suspended', meta())),
    },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      const partner = await createPartner(env.storage, `Self-signed org ${i}`);
      const client = await newSelfSignedClient(partner.orgId, `self-signed-${i}`);
      const token = await tokenFor(client);
      assert.equal((await get(client, '/v1/accounts', token)).status, 200);
      assert.equal((await get(client, '/health')).status, 200);
      await c.change(client);
      assertRefused(await get(client, '/v1/accounts', token), 403, 'certificate_untrusted');
      assertRefused(await get(client, '/health'), 403, 'certificate_untrusted');
    });
  }
});

describe('scopes match exactly', () => {
  const lookAlikes = ['accounts', 'accounts:rea', 'accounts:read:all', 'ACCOUNTS:READ', 'accounts:*', '*'];
  for (const scope of lookAlikes) {
    test(`fail/token scope "${scope}" for a route needing accounts:read`, async () => {
      const res = await get(env.reader, '/v1/accounts', await tokenFor(env.reader, scope));
      assertRefused(res, 403, 'insufficient_scope');
    });
  }
});
