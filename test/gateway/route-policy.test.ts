import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Agent } from 'undici';
import {
  type CatalogRoute,
  catalogRoutesOf,
  createGateway,
  createMemoryLivenessState,
  type Gateway,
  type MemoryLivenessState,
} from '../../src/gateway/index.ts';
import {
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  issueServerCertificate,
  randomSerialHex,
} from '../../src/pki/index.ts';
import {
  type CallResult,
  type ClientCredential,
  call,
  capturingLogger,
  clientAgent,
  foreignCredential,
  JwksServer,
  signingKey,
  type TokenClaims,
  TokenMinter,
} from './fixture.ts';

/**
 * The catalog's per-operation policy at the gateway (issue 11): auth token/public, mTLS required/optional,
 * DPoP refused/accepted, scope alternatives and the ownership guard. Storage-free: the liveness state is the
 * gateway's own in-memory one, as a standalone gateway holds it.
 */

const ISSUER = 'https://localhost:8443';
const AUDIENCE = 'https://localhost:9443';
const DAY = 86_400_000;
const ACME = 'org_acme01';
const GLOBEX = 'org_globex1';
const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

const ROUTES: CatalogRoute[] = [
  {
    method: 'GET',
    pathPattern: '/v1/orgs/{org}/accounts',
    scopes: [['accounts:read']],
    auth: 'token',
    mtls: 'required',
    dpop: 'refused',
    ownerParam: 'org',
  },
  {
    method: 'GET',
    pathPattern: '/v1/ledger',
    scopes: [['ledger:read', 'accounts:read'], ['auditor']],
    auth: 'token',
    mtls: 'required',
    dpop: 'refused',
  },
  { method: 'GET', pathPattern: '/v1/status', scopes: [], auth: 'public', mtls: 'optional', dpop: 'refused' },
  {
    method: 'GET',
    pathPattern: '/v1/partner-status',
    scopes: [],
    auth: 'public',
    mtls: 'required',
    dpop: 'refused',
  },
  {
    method: 'GET',
    pathPattern: '/v1/open',
    scopes: [['accounts:read']],
    auth: 'token',
    mtls: 'optional',
    dpop: 'refused',
  },
  {
    method: 'GET',
    pathPattern: '/v1/dpop-ready',
    scopes: [['accounts:read']],
    auth: 'token',
    mtls: 'required',
    dpop: 'accepted',
  },
  { method: 'GET', pathPattern: '/v1/legacy', scope: 'legacy:read' },
  { method: 'GET', pathPattern: '/v1/legacy', scope: 'legacy:admin' },
];

interface Caller {
  clientId: string;
  orgId: string;
  cred: ClientCredential;
  agent: Agent;
}

interface Env {
  gateway: Gateway;
  liveness: MemoryLivenessState;
  minter: TokenMinter;
  lines: string[];
  upstream: { server: Server; count: number; last: IncomingHttpHeaders | undefined };
  acme: Caller;
  globex: Caller;
  inactive: Caller;
  foreign: Caller;
  noCert: Agent;
  agents: Agent[];
  close(): Promise<void>;
}

let env: Env;

async function partnerCredential(
  issuing: CaMaterial,
  clientId: string,
  orgId: string,
): Promise<ClientCredential> {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const now = new Date(Date.now() - DAY);
  const cert = await buildPartnerCertificate({
    issuer: issuing,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId, orgName: orgId },
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 30 * DAY),
    crlUrl: 'https://localhost:8443/crl',
  });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { certPem: cert.certPem, keyPem, x5tS256: cert.x5tS256 };
}

before(async () => {
  const now = new Date(Date.now() - DAY);
  const root = await createRootCa({ commonName: 'Test Root', now, validityDays: 365 });
  const issuing = await createIssuingCa({ commonName: 'Test Issuing', parent: root, now, validityDays: 300 });
  const chainPem = `${issuing.certPem.trim()}\n${root.certPem.trim()}\n`;
  const serverKeys = generateKeyPair('ES256');
  const server = await issueServerCertificate({
    issuer: issuing,
    publicKey: serverKeys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 30,
    now,
  });
  const tls = {
    cert: `${server.certPem.trim()}\n${chainPem}`,
    key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };

  const agents: Agent[] = [];
  const agentFor = (cred?: ClientCredential) => {
    const agent = clientAgent(chainPem, cred);
    agents.push(agent);
    return agent;
  };
  const caller = async (clientId: string, orgId: string): Promise<Caller> => {
    const cred = await partnerCredential(issuing, clientId, orgId);
    return { clientId, orgId, cred, agent: agentFor(cred) };
  };
  const acme = await caller('cl_acme', ACME);
  const globex = await caller('cl_globex', GLOBEX);
  const inactive = await caller('cl_inactive', ACME);
  const foreignCred = await foreignCredential('cl_acme', ACME);
  const foreign = { clientId: 'cl_acme', orgId: ACME, cred: foreignCred, agent: agentFor(foreignCred) };

  const liveness = createMemoryLivenessState();
  const app = (clientId: string, orgId: string, status = 'active') => ({
    clientId,
    orgId,
    status,
    authMethod: 'tls_client_auth',
    selfSignedX5t: [],
    certificateApps: [],
  });
  const notAfter = new Date(Date.now() + 30 * DAY).toISOString();
  liveness.replace({
    seq: 1,
    organisations: [
      { id: ACME, status: 'active' },
      { id: GLOBEX, status: 'active' },
    ],
    applications: [
      app(acme.clientId, ACME),
      app(globex.clientId, GLOBEX),
      app(inactive.clientId, ACME, 'suspended'),
    ],
    certificates: [acme, globex, inactive].map((c) => ({
      x5tS256: c.cred.x5tS256,
      clientId: c.clientId,
      notAfter,
      revoked: false,
    })),
    revokedTokens: [],
    routes: [],
  });

  const key = await signingKey('k1');
  const jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();

  const upstream = {
    server: undefined as unknown as Server,
    count: 0,
    last: undefined as IncomingHttpHeaders | undefined,
  };
  upstream.server = createServer((req, res) => {
    upstream.count++;
    upstream.last = req.headers;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));

  const { logger, lines } = capturingLogger();
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
    tls: { ...tls, ca: chainPem },
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: chainPem,
    liveness,
    routes: ROUTES,
    upstream: `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`,
    logger,
  });
  env = {
    gateway,
    liveness,
    minter: new TokenMinter(ISSUER, AUDIENCE, key),
    lines,
    upstream,
    acme,
    globex,
    inactive,
    foreign,
    noCert: agentFor(),
    agents,
    async close() {
      for (const agent of agents) await agent.close();
      await gateway.close();
      liveness.close();
      upstream.server.closeAllConnections();
      await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
      await jwks.close();
    },
  };
});

after(() => env?.close());

/** A token for `client`, bound to its certificate unless `overrides` say otherwise (undefined removes). */
function tokenFor(client: Caller, scope = 'accounts:read', overrides: TokenClaims = {}): Promise<string> {
  return env.minter.sign({
    ...env.minter.claims(client.clientId, client.orgId, client.cred.x5tS256, scope),
    ...overrides,
  });
}

function get(
  agent: Agent,
  path: string,
  options: { token?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<CallResult> {
  return call(agent, env.gateway.url, path, options);
}

const INVALID_TOKEN = /^Bearer realm="accredit", error="invalid_token", error_description="[^"]+"$/;

/** Every rejection: status, reason, challenge (or none), and the upstream was not contacted. */
async function assertRefused(
  send: () => Promise<CallResult>,
  status: number,
  code: string,
  challenge: RegExp | undefined,
): Promise<CallResult> {
  const before = env.upstream.count;
  const res = await send();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.json.code, code);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  if (challenge) assert.match(String(res.headers['www-authenticate']), challenge);
  else assert.equal(res.headers['www-authenticate'], undefined, 'no Bearer challenge');
  assert.equal(env.upstream.count, before, 'the upstream was not contacted');
  return res;
}

async function assertAllowed(send: () => Promise<CallResult>): Promise<IncomingHttpHeaders> {
  const before = env.upstream.count;
  const res = await send();
  assert.equal(res.status, 200, res.text);
  assert.equal(env.upstream.count, before + 1);
  return env.upstream.last as IncomingHttpHeaders;
}

function decisionFor(requestId: string): Record<string, unknown> {
  const line = env.lines.map((l) => JSON.parse(l)).find((l) => l.request_id === requestId);
  assert.ok(line, `a decision line for ${requestId}`);
  return line;
}

describe('auth: public', () => {
  test('ok/mtls optional, no certificate: forwarded with x-request-id only; decision public_route', async () => {
    const seen = await assertAllowed(() => get(env.noCert, '/v1/status'));
    const identity = Object.keys(seen).filter((h) => h.startsWith('x-accredit-'));
    assert.deepEqual(identity, []);
    assert.match(String(seen['x-request-id']), /^[0-9a-f-]{36}$/);
    const line = decisionFor(String(seen['x-request-id']));
    assert.equal(line.decision, 'allow');
    assert.equal(line.reason, 'public_route');
    assert.equal(line.route, '/v1/status');
    assert.ok((env.gateway.stats().allowed.public_route ?? 0) >= 1);
  });

  test('ok/an Authorization header is not read, and not forwarded: the upstream sees no identity', async () => {
    for (const authorization of ['Bearer not-even-a-jwt', 'DPoP whatever', 'Basic YTpi']) {
      const seen = await assertAllowed(() => get(env.noCert, '/v1/status', { headers: { authorization } }));
      assert.equal(seen.authorization, undefined);
      assert.equal(seen['x-accredit-org-id'], undefined);
    }
    const seen = await assertAllowed(async () =>
      get(env.acme.agent, '/v1/status', {
        token: await tokenFor(env.acme),
        headers: { 'x-accredit-org-id': GLOBEX, 'x-accredit-client-id': 'cl_globex' },
      }),
    );
    assert.equal(seen.authorization, undefined);
    assert.equal(seen['x-accredit-org-id'], undefined, 'identity headers are stripped as always');
    assert.equal(seen['x-accredit-client-id'], undefined);
  });

  test('fail/a token in the query is refused on a public route too (RFC 6750 §2.3: it would reach logs)', async () => {
    await assertRefused(
      () => get(env.noCert, '/v1/status?access_token=abc'),
      400,
      'token_in_query',
      /^Bearer realm="accredit", error="invalid_request"/,
    );
  });

  test('ok/mtls optional with a trusted certificate: its thumbprint is forwarded', async () => {
    const seen = await assertAllowed(() => get(env.acme.agent, '/v1/status'));
    assert.equal(seen['x-accredit-cert-x5t-s256'], env.acme.cred.x5tS256);
    assert.equal(seen['x-accredit-client-id'], undefined);
  });

  test('fail/mtls optional: a presented certificate is still checked (untrusted)', async () => {
    await assertRefused(() => get(env.foreign.agent, '/v1/status'), 403, 'certificate_untrusted', undefined);
  });

  test('ok/HEAD on a public route keeps GET’s policy', async () => {
    await assertAllowed(() => get(env.noCert, '/v1/status', { method: 'HEAD' }));
  });

  test('fail/mtls required, no certificate', async () => {
    await assertRefused(
      () => get(env.noCert, '/v1/partner-status'),
      403,
      'client_certificate_required',
      undefined,
    );
  });

  test('ok/mtls required with a trusted, live certificate', async () => {
    const seen = await assertAllowed(() => get(env.globex.agent, '/v1/partner-status'));
    assert.equal(seen['x-accredit-cert-x5t-s256'], env.globex.cred.x5tS256);
  });

  test('fail/mtls required: the certificate’s application must be active (as public paths check)', async () => {
    await assertRefused(
      () => get(env.inactive.agent, '/v1/partner-status'),
      403,
      'certificate_application_inactive',
      undefined,
    );
  });
});

describe('auth: token, mtls: optional', () => {
  test('ok/no certificate, an unbound token: no certificate step, no thumbprint forwarded', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', { cnf: undefined });
    const seen = await assertAllowed(() => get(env.noCert, '/v1/open', { token }));
    assert.equal(seen['x-accredit-org-id'], ACME);
    assert.equal(seen['x-accredit-client-id'], env.acme.clientId);
    assert.equal(seen['x-accredit-cert-x5t-s256'], undefined);
    assert.equal(seen.authorization, undefined);
    assert.equal(decisionFor(String(seen['x-request-id'])).reason, 'ok');
  });

  test('fail/no certificate, a certificate-bound token: its certificate is still needed', async () => {
    await assertRefused(
      async () => get(env.noCert, '/v1/open', { token: await tokenFor(env.acme) }),
      401,
      'token_binding_mismatch',
      INVALID_TOKEN,
    );
  });

  test('ok/the bound token with its certificate', async () => {
    const token = await tokenFor(env.acme);
    const seen = await assertAllowed(() => get(env.acme.agent, '/v1/open', { token }));
    assert.equal(seen['x-accredit-cert-x5t-s256'], env.acme.cred.x5tS256);
  });

  test('fail/the bound token with another certificate', async () => {
    await assertRefused(
      async () => get(env.globex.agent, '/v1/open', { token: await tokenFor(env.acme) }),
      401,
      'token_binding_mismatch',
      INVALID_TOKEN,
    );
  });

  test('fail/a presented certificate is checked as on any route (untrusted)', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', { cnf: undefined });
    await assertRefused(
      () => get(env.foreign.agent, '/v1/open', { token }),
      403,
      'certificate_untrusted',
      undefined,
    );
  });

  test('fail/no certificate and no token: RFC 6750 §3.1 bare challenge', async () => {
    await assertRefused(() => get(env.noCert, '/v1/open'), 401, 'token_missing', /^Bearer realm="accredit"$/);
  });

  test('fail/no certificate: the scope is still enforced', async () => {
    const token = await tokenFor(env.acme, 'ledger:read', { cnf: undefined });
    await assertRefused(
      () => get(env.noCert, '/v1/open', { token }),
      403,
      'insufficient_scope',
      /error="insufficient_scope".*scope="accounts:read"$/,
    );
  });
});

describe('auth: token, mtls: required', () => {
  test('fail/no certificate', async () => {
    const token = await tokenFor(env.acme, 'ledger:read accounts:read', { cnf: undefined });
    await assertRefused(
      () => get(env.noCert, '/v1/ledger', { token }),
      403,
      'client_certificate_required',
      undefined,
    );
  });

  test('fail/an unbound token with a certificate', async () => {
    const token = await tokenFor(env.acme, 'auditor', { cnf: undefined });
    await assertRefused(
      () => get(env.acme.agent, '/v1/ledger', { token }),
      401,
      'token_not_bound',
      INVALID_TOKEN,
    );
  });

  test('fail/a path no operation matches asks for a certificate first, then is 404 once authenticated', async () => {
    const token = await tokenFor(env.acme);
    await assertRefused(
      () => get(env.noCert, '/v1/nowhere', { token }),
      403,
      'client_certificate_required',
      undefined,
    );
    await assertRefused(
      () => get(env.acme.agent, '/v1/nowhere'),
      401,
      'token_missing',
      /^Bearer realm="accredit"$/,
    );
    await assertRefused(
      () => get(env.acme.agent, '/v1/nowhere', { token }),
      404,
      'route_not_found',
      undefined,
    );
  });
});

describe('scope alternatives: all scopes of one alternative, any alternative', () => {
  const LEDGER_CHALLENGE =
    /^Bearer realm="accredit", error="insufficient_scope", error_description="[^"]+", scope="accounts:read ledger:read auditor"$/;
  for (const scope of ['ledger:read', 'accounts:read', 'ledger:write accounts:write', 'auditor:read', '']) {
    test(`fail/token scope "${scope}"`, async () => {
      const res = await assertRefused(
        async () => get(env.acme.agent, '/v1/ledger', { token: await tokenFor(env.acme, scope) }),
        403,
        'insufficient_scope',
        LEDGER_CHALLENGE,
      );
      assert.match(String(res.json.detail), /accounts:read and ledger:read, or auditor/);
    });
  }
  for (const scope of ['ledger:read accounts:read', 'auditor', 'openid auditor ledger:read']) {
    test(`ok/token scope "${scope}"`, async () => {
      await assertAllowed(async () =>
        get(env.acme.agent, '/v1/ledger', { token: await tokenFor(env.acme, scope) }),
      );
    });
  }
});

describe('DPoP', () => {
  test('fail/a DPoP-bound token (cnf.jkt) on a route that refuses DPoP', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', { cnf: { jkt: JKT } });
    await assertRefused(
      () => get(env.acme.agent, '/v1/open', { token }),
      401,
      'dpop_not_accepted',
      INVALID_TOKEN,
    );
  });

  test('fail/a token bound to both a certificate and a DPoP key on a route that refuses DPoP', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', {
      cnf: { 'x5t#S256': env.acme.cred.x5tS256, jkt: JKT },
    });
    await assertRefused(
      () => get(env.acme.agent, `/v1/orgs/${ACME}/accounts`, { token }),
      401,
      'dpop_not_accepted',
      INVALID_TOKEN,
    );
  });

  test('fail/a DPoP-bound token presented as Bearer on a route that accepts DPoP (RFC 9449 §7.2)', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', { cnf: { jkt: JKT } });
    const res = await assertRefused(
      () => get(env.acme.agent, '/v1/dpop-ready', { token }),
      401,
      'dpop_token_as_bearer',
      INVALID_TOKEN,
    );
    assert.match(String(res.headers['www-authenticate']), /^Bearer /);
  });

  test('fail/the DPoP scheme on a route that refuses DPoP', async () => {
    const token = await tokenFor(env.acme);
    await assertRefused(
      () => get(env.acme.agent, '/v1/open', { headers: { authorization: `DPoP ${token}` } }),
      401,
      'dpop_not_accepted',
      INVALID_TOKEN,
    );
  });

  test('fail/the DPoP scheme (any case) with a certificate-bound token on a route that accepts DPoP', async () => {
    const token = await tokenFor(env.acme);
    const res = await assertRefused(
      () =>
        get(env.acme.agent, '/v1/dpop-ready', { headers: { authorization: `dpop ${token}`, dpop: 'x.y.z' } }),
      401,
      'dpop_token_not_bound',
      /^DPoP error="invalid_token"/,
    );
    assert.match(String(res.headers['www-authenticate']), /algs="ES256 /);
  });

  test('fail/the DPoP scheme where no operation matches: none accepts it', async () => {
    const token = await tokenFor(env.acme);
    await assertRefused(
      () => get(env.acme.agent, '/v1/nowhere', { headers: { authorization: `DPoP ${token}` } }),
      401,
      'dpop_not_accepted',
      INVALID_TOKEN,
    );
  });

  test('ok/a certificate-bound Bearer token on a route that accepts DPoP', async () => {
    await assertAllowed(async () =>
      get(env.acme.agent, '/v1/dpop-ready', { token: await tokenFor(env.acme) }),
    );
  });
});

describe('ownership guard', () => {
  test('ok/the caller’s own organisation id', async () => {
    const token = await tokenFor(env.acme);
    const seen = await assertAllowed(() =>
      get(env.acme.agent, `/v1/orgs/${ACME}/accounts?limit=2`, { token }),
    );
    assert.equal(seen['x-accredit-org-id'], ACME);
  });

  test('fail/another organisation’s id: 403 before the upstream is contacted, logged by parameter only', async () => {
    const token = await tokenFor(env.acme);
    const res = await assertRefused(
      () => get(env.acme.agent, `/v1/orgs/${GLOBEX}/accounts`, { token }),
      403,
      'resource_owner_mismatch',
      undefined,
    );
    assert.match(String(res.json.detail), /\{org\}/);
    assert.ok(!String(res.json.detail).includes(GLOBEX), 'the detail does not echo the id');
    const line = decisionFor(String(res.json.request_id));
    assert.equal(line.decision, 'deny');
    assert.equal(line.reason, 'resource_owner_mismatch');
    assert.equal(line.org_id, ACME);
    assert.equal(line.route, '/v1/orgs/{org}/accounts');
  });

  test('fail/the other direction: globex on acme’s resources', async () => {
    const token = await tokenFor(env.globex);
    await assertRefused(
      () => get(env.globex.agent, `/v1/orgs/${ACME}/accounts`, { token }),
      403,
      'resource_owner_mismatch',
      undefined,
    );
  });

  const encodings = [
    ['percent-encoded first character', `%6F${ACME.slice(1)}`],
    ['percent-encoded underscore', ACME.replace('_', '%5F')],
    ['upper-case spelling', ACME.toUpperCase()],
    ['a prefix of the id', ACME.slice(0, -1)],
    ['the id with a suffix', `${ACME}x`],
    ['the id with a matrix parameter', `${ACME};v=1`],
  ];
  for (const [name, segment] of encodings) {
    test(`fail/the own id spelled otherwise: ${name}`, async () => {
      const token = await tokenFor(env.acme);
      await assertRefused(
        () => get(env.acme.agent, `/v1/orgs/${segment}/accounts`, { token }),
        403,
        'resource_owner_mismatch',
        undefined,
      );
    });
  }

  test('fail/the owner segment missing: no operation matches', async () => {
    const token = await tokenFor(env.acme);
    for (const path of ['/v1/orgs//accounts', '/v1/orgs/accounts'])
      await assertRefused(() => get(env.acme.agent, path, { token }), 404, 'route_not_found', undefined);
  });

  test('fail/HEAD keeps GET’s owner guard (no body: the reason is read from the decision line)', async () => {
    const token = await tokenFor(env.acme);
    const before = env.upstream.count;
    const res = await get(env.acme.agent, `/v1/orgs/${GLOBEX}/accounts`, { token, method: 'HEAD' });
    assert.equal(res.status, 403);
    assert.equal(res.headers['www-authenticate'], undefined);
    assert.equal(env.upstream.count, before);
    assert.equal(decisionFor(String(res.headers['x-request-id'])).reason, 'resource_owner_mismatch');
  });

  test('fail/the scope is checked first: insufficient_scope even on the own id', async () => {
    const token = await tokenFor(env.acme, 'ledger:read');
    await assertRefused(
      () => get(env.acme.agent, `/v1/orgs/${GLOBEX}/accounts`, { token }),
      403,
      'insufficient_scope',
      /scope="accounts:read"$/,
    );
  });
});

describe('legacy catalog rows', () => {
  test('ok/one scope per row, rows of one operation are alternatives', async () => {
    for (const scope of ['legacy:read', 'legacy:admin'])
      await assertAllowed(async () =>
        get(env.acme.agent, '/v1/legacy', { token: await tokenFor(env.acme, scope) }),
      );
  });

  test('fail/the legacy policy: a certificate is required', async () => {
    const token = await tokenFor(env.acme, 'legacy:read', { cnf: undefined });
    await assertRefused(
      () => get(env.noCert, '/v1/legacy', { token }),
      403,
      'client_certificate_required',
      undefined,
    );
  });

  test('fail/the legacy policy: DPoP refused', async () => {
    const token = await tokenFor(env.acme, 'legacy:read', { cnf: { jkt: JKT } });
    await assertRefused(
      () => get(env.acme.agent, '/v1/legacy', { token }),
      401,
      'dpop_not_accepted',
      INVALID_TOKEN,
    );
  });

  test('fail/the legacy scope challenge names both rows', async () => {
    await assertRefused(
      async () => get(env.acme.agent, '/v1/legacy', { token: await tokenFor(env.acme, 'accounts:read') }),
      403,
      'insufficient_scope',
      /scope="legacy:read legacy:admin"$/,
    );
  });
});

describe('setRoutes with policies', () => {
  test('ok/a new table applies to the very next request; an unusable one is refused and the old one kept', async () => {
    const token = await tokenFor(env.acme, 'accounts:read', { cnf: undefined });
    await assertAllowed(() => get(env.noCert, '/v1/open', { token }));
    const stricter = ROUTES.map((r) =>
      r.pathPattern === '/v1/open' ? { ...r, mtls: 'required' as const } : r,
    );
    env.gateway.setRoutes(stricter);
    try {
      await assertRefused(
        () => get(env.noCert, '/v1/open', { token }),
        403,
        'client_certificate_required',
        undefined,
      );
      // Two rows of one operation with different policies: the gateway does not guess.
      const conflicting = [...ROUTES, { ...(ROUTES[4] as CatalogRoute), mtls: 'required' }] as CatalogRoute[];
      assert.throws(() => env.gateway.setRoutes(conflicting), /another policy/);
      assert.throws(
        () =>
          env.gateway.setRoutes([{ ...(ROUTES[0] as object), auth: 'anonymous' } as unknown as CatalogRoute]),
        /auth/,
      );
      await assertRefused(
        () => get(env.noCert, '/v1/open', { token }),
        403,
        'client_certificate_required',
        undefined,
      );
      // An operation made public: its token is no longer read.
      env.gateway.setRoutes([
        ...ROUTES.filter((r) => r.pathPattern !== '/v1/open'),
        {
          method: 'GET',
          pathPattern: '/v1/open',
          scopes: [],
          auth: 'public',
          mtls: 'optional',
          dpop: 'refused',
        },
      ]);
      const seen = await assertAllowed(() => get(env.noCert, '/v1/open', { token }));
      assert.equal(seen['x-accredit-org-id'], undefined);
    } finally {
      env.gateway.setRoutes(ROUTES);
    }
  });

  test('fail/a gateway does not start with an unusable table, naming the key', async () => {
    const { logger } = capturingLogger();
    await assert.rejects(
      createGateway({
        host: '127.0.0.1',
        port: 0,
        publicUrl: AUDIENCE,
        tls: { cert: 'x', key: 'y', ca: 'z' },
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: 'https://127.0.0.1:1/jwks',
        liveness: env.liveness,
        routes: [...ROUTES, { ...(ROUTES[0] as CatalogRoute), dpop: 'accepted' } as CatalogRoute],
        upstream: 'http://127.0.0.1:1',
        logger,
      }),
      /^Error: gateway\.routes: GET \/v1\/orgs\/\{org\}\/accounts: conflicts with/,
    );
  });
});

describe('catalog.changed payloads', () => {
  const change = (payload: Record<string, unknown>, kind = 'catalog.changed') => ({
    seq: 1,
    at: new Date().toISOString(),
    kind,
    entityId: 'catalog',
    payload,
  });

  test('ok/operations with policies and legacy rows pass through unfiltered, to be compiled whole', () => {
    const routes = catalogRoutesOf(change({ routes: ROUTES }));
    assert.deepEqual(routes, ROUTES);
  });

  test('fail/a malformed row is not silently dropped: the table is refused whole', () => {
    const routes = catalogRoutesOf(change({ routes: [...ROUTES, { method: 'GET', pathPattern: '/x' }] }));
    assert.ok(routes);
    assert.throws(() => env.gateway.setRoutes(routes), /routes: GET \/x/);
  });

  test('ok/not a catalog change, or no table: nothing to apply', () => {
    assert.equal(catalogRoutesOf(change({ routes: ROUTES }, 'org.status')), undefined);
    assert.equal(catalogRoutesOf(change({ routes: 'all' })), undefined);
  });
});
