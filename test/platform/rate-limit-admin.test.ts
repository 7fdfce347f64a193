import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { listAuditEvents } from '../../src/audit/index.ts';
import { parseLimit } from '../../src/cli/commands/rate-limit.ts';
import type { EdgeSettings } from '../../src/cli/edge/edge-settings.ts';
import { envoyYaml } from '../../src/cli/edge/render-envoy.ts';
import { nginxAuthRequestConf } from '../../src/cli/edge/render-nginx.ts';
import { importOpenApi } from '../../src/directory/catalog-import/index.ts';
import { createOrganisation, directoryEnforcementSnapshot } from '../../src/directory/index.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { registerCatalogRoutes } from '../../src/platform/admin-api/catalog-routes.ts';
import { registerRateLimitRoutes } from '../../src/platform/admin-api/rate-limit-routes.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { takeEnforcementSnapshot } from '../../src/platform/enforcement-feed/take-snapshot.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import { encodeCursor } from '../../src/shared/page-cursor.ts';
import { CHANGE_KINDS, changesOfKind, type Storage } from '../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;

describe('admin API: rate limits per organisation, per application, for the catalog (issue 16)', () => {
  let storage: Storage;
  let app: FastifyInstance;
  let operator: string;
  let partner: Partner;

  const call = async (
    method: 'GET' | 'PUT' | 'DELETE' | 'POST' | 'PATCH',
    url: string,
    payload?: unknown,
  ) => {
    const r = await app.inject({
      method,
      url: `/admin/v1${url}`,
      headers: { authorization: `Bearer ${operator}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    return { status: r.statusCode, body: r.body ? (r.json() as Record<string, unknown>) : {} };
  };
  const changes = async () =>
    changesOfKind(storage.db, CHANGE_KINDS.rateLimitChanged, Number.MAX_SAFE_INTEGER);

  before(async () => {
    storage = await seededStorage(target);
    const ca = await installCa(storage);
    partner = await createPartner(storage, 'Acme Bank');
    operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
    app = createHttpsServer({ tls: {}, logger: pino({ level: 'silent' }) });
    app.addSchema(problemSchema);
    const deps = { storage, clock: () => META.now, ca, urlGuard: undefined as never };
    await app.register(
      async (admin) => {
        registerOperatorAuth(admin, deps);
        registerCatalogRoutes(admin, deps);
        registerRateLimitRoutes(admin, deps);
      },
      { prefix: '/admin/v1' },
    );
    await app.ready();
  });

  after(async () => {
    await app.close();
    await storage.close();
    await target.cleanup();
  });

  test('ok/GET with none set: policy null', async () => {
    const r = await call('GET', `/organisations/${partner.orgId}/rate-limit`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      subject_kind: 'organisation',
      subject_id: partner.orgId,
      policy: null,
      updated_at: null,
    });
  });

  test('ok/PUT organisation: normalised, audited, published on the feed and in the snapshot', async () => {
    const before = (await changes()).length;
    const r = await call('PUT', `/organisations/${partner.orgId}/rate-limit`, {
      limits: [
        { quota: 100000, window: 86400 },
        { quota: 50, window: 1 },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.policy, [
      { quota: 50, window: 1 },
      { quota: 100000, window: 86400 },
    ]);
    const got = await call('GET', `/organisations/${partner.orgId}/rate-limit`);
    assert.deepEqual(got.body.policy, r.body.policy);
    const published = await changes();
    assert.equal(published.length, before + 1);
    assert.deepEqual(published.at(-1)?.payload, {
      subject_kind: 'organisation',
      subject_id: partner.orgId,
      policy: r.body.policy,
    });
    const audit = await listAuditEvents(storage.db, { after: 0, limit: 1000 });
    assert.ok(audit.some((e) => e.action === 'rate_limit.set' && e.target_id === partner.orgId));
    const snapshot = await takeEnforcementSnapshot(storage, new Date());
    assert.deepEqual(snapshot.rateLimits, [
      { kind: 'organisation', id: partner.orgId, policy: r.body.policy },
    ]);
  });

  for (const [name, body, pattern] of [
    ['a zero quota', { limits: [{ quota: 0, window: 1 }] }, /quota/],
    ['a fractional window', { limits: [{ quota: 1, window: 0.5 }] }, /window/],
    ['an unknown field', { limits: [{ quota: 1, window: 1, burst: 2 }] }, /burst|additional/],
    [
      'two limits with one window',
      {
        limits: [
          { quota: 1, window: 1 },
          { quota: 2, window: 1 },
        ],
      },
      /same window/,
    ],
    ['no limits', {}, /limits/],
    ['five limits', { limits: [1, 2, 3, 4, 5].map((w) => ({ quota: 1, window: w })) }, /4|NOT have more/],
  ] as const) {
    test(`fail/PUT with ${name} is 400, nothing written`, async () => {
      const before = (await changes()).length;
      const r = await call('PUT', `/applications/${partner.clientId}/rate-limit`, body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.status, 400);
      assert.match(JSON.stringify(r.body), pattern);
      assert.equal((await changes()).length, before);
      assert.equal((await call('GET', `/applications/${partner.clientId}/rate-limit`)).body.policy, null);
    });
  }

  test('fail/an unknown organisation or application is 404', async () => {
    const org = await call('PUT', '/organisations/nope/rate-limit', { limits: [{ quota: 1, window: 1 }] });
    assert.equal(org.status, 404);
    assert.equal((await call('GET', '/applications/nope/rate-limit')).status, 404);
    assert.equal((await call('DELETE', '/applications/nope/rate-limit')).status, 404);
  });

  test('ok/application: [] is "not limited"; DELETE removes it (published with policy null)', async () => {
    const put = await call('PUT', `/applications/${partner.clientId}/rate-limit`, { limits: [] });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.policy, []);
    const del = await call('DELETE', `/applications/${partner.clientId}/rate-limit`);
    assert.equal(del.status, 204);
    assert.equal((await changes()).at(-1)?.payload.policy, null);
    assert.equal((await call('GET', `/applications/${partner.clientId}/rate-limit`)).body.policy, null);
    // Deleting what is not there is harmless and publishes nothing.
    const count = (await changes()).length;
    assert.equal((await call('DELETE', `/applications/${partner.clientId}/rate-limit`)).status, 204);
    assert.equal((await changes()).length, count);
  });

  test('ok/GET /rate-limits pages every limit set, by kind and subject; filters by kind; fail/bad cursor', async () => {
    const orgs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const org = await storage.transaction((tx) =>
        createOrganisation(tx, { name: `Rate Paging ${i}` }, META),
      );
      orgs.push(org);
      const r = await call('PUT', `/organisations/${org}/rate-limit`, {
        limits: [{ quota: 10 + i, window: 60 }],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    assert.equal(
      (await call('PUT', `/applications/${partner.clientId}/rate-limit`, { limits: [] })).status,
      200,
    );
    assert.equal(
      (await call('PUT', '/catalog/rate-limit', { client: [{ quota: 5, window: 1 }] })).status,
      200,
    );
    const seen: Array<{ subject_kind: string; subject_id: string }> = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/rate-limits?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const items = page.body.items as typeof seen;
      assert.ok(items.length <= 2);
      seen.push(...items);
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    const keys = seen.map((r) => `${r.subject_kind}/${r.subject_id}`);
    assert.equal(new Set(keys).size, keys.length, 'no row twice');
    assert.deepEqual(keys, [...keys].sort());
    for (const org of orgs) assert.ok(keys.includes(`organisation/${org}`), keys.join(' '));
    assert.ok(keys.includes(`application/${partner.clientId}`) && keys.includes('catalog/*'));
    const onlyOrgs = await call('GET', '/rate-limits?subject_kind=organisation&limit=1000');
    assert.ok((onlyOrgs.body.items as typeof seen).every((r) => r.subject_kind === 'organisation'));
    assert.equal(
      (onlyOrgs.body.items as typeof seen).length,
      keys.filter((k) => k.startsWith('organisation/')).length,
    );
    for (const query of [
      'cursor=%21%21',
      `cursor=${encodeCursor(['only-one'])}`,
      'limit=0',
      'subject_kind=operation',
    ]) {
      const bad = await call('GET', `/rate-limits?${query}`);
      assert.equal(bad.status, 400, query);
    }
    for (const org of orgs) await call('DELETE', `/organisations/${org}/rate-limit`);
    await call('DELETE', `/applications/${partner.clientId}/rate-limit`);
    await call('DELETE', '/catalog/rate-limit');
  });

  test('ok/catalog default { client, organisation }; fail/a malformed one is 400', async () => {
    const r = await call('PUT', '/catalog/rate-limit', { client: [{ quota: 10, window: 1 }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      subject_kind: 'catalog',
      subject_id: '*',
      policy: { client: [{ quota: 10, window: 1 }] },
      updated_at: META.now.toISOString(),
    });
    assert.equal((await call('PUT', '/catalog/rate-limit', { clients: [] })).status, 400);
    assert.equal(
      (await call('PUT', '/catalog/rate-limit', { client: [{ quota: -1, window: 1 }] })).status,
      400,
    );
    assert.deepEqual((await call('GET', '/catalog/rate-limit')).body.policy, {
      client: [{ quota: 10, window: 1 }],
    });
    assert.equal((await call('DELETE', '/catalog/rate-limit')).status, 204);
  });

  test('ok/an operation carries its own rate_limit to the route table; fail/a malformed or public one is a finding', async () => {
    const created = await call('POST', '/catalog/operations', {
      method: 'GET',
      path_pattern: '/v1/limited',
      scope: 'accounts:read',
      description: 'limited',
      rate_limit: { client: [{ quota: 5, window: 60 }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.rate_limit, { client: [{ quota: 5, window: 60 }] });
    const { routes } = await directoryEnforcementSnapshot(storage.db);
    const route = routes.find((r) => r.pathPattern === '/v1/limited');
    assert.deepEqual(route?.rateLimit, { client: [{ quota: 5, window: 60 }] });
    const others = routes.filter((r) => r.pathPattern !== '/v1/limited');
    assert.ok(others.every((r) => r.rateLimit === undefined));

    const bad = await call('POST', '/catalog/operations', {
      method: 'GET',
      path_pattern: '/v1/bad',
      scope: 'accounts:read',
      description: 'bad',
      rate_limit: { client: [{ quota: 0, window: 60 }] },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /invalid_rate_limit/);
    const pub = await call('POST', '/catalog/operations', {
      method: 'GET',
      path_pattern: '/v1/pub',
      auth: 'public',
      description: 'pub',
      rate_limit: { client: [{ quota: 1, window: 60 }] },
    });
    assert.equal(pub.status, 400);
    assert.match(JSON.stringify(pub.body), /public operation has no client/);

    // Removed with null: the catalog default applies again.
    const id = created.body.id as string;
    const cleared = await call('PATCH', `/catalog/operations/${id}`, { rate_limit: null });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.body.rate_limit, undefined);
    const after = (await directoryEnforcementSnapshot(storage.db)).routes.find(
      (r) => r.pathPattern === '/v1/limited',
    );
    assert.equal(after?.rateLimit, undefined);
  });
});

test('CLI --limit QUOTA/WINDOW: ok/units; fail/malformed', () => {
  assert.deepEqual(parseLimit('10/1s'), { quota: 10, window: 1 });
  assert.deepEqual(parseLimit('600/1m'), { quota: 600, window: 60 });
  assert.deepEqual(parseLimit('5/2h'), { quota: 5, window: 7200 });
  assert.deepEqual(parseLimit('10000/1d'), { quota: 10000, window: 86400 });
  assert.deepEqual(parseLimit('50/30'), { quota: 50, window: 30 });
  for (const bad of ['10', '10/', '/1s', '0/1s', '10/0s', '1.5/1s', '10/1w', 'x/1s']) {
    assert.throws(() => parseLimit(bad), /QUOTA\/WINDOW|≥ 1/, bad);
  }
});

test('OpenAPI import: ok/x-accredit-rate-limit becomes the operation’s rate_limit; fail/a malformed one is a finding', () => {
  const op = (extra: Record<string, unknown>) => ({
    responses: { '200': { description: 'ok' } },
    security: [{ auth: ['a:read'] }],
    ...extra,
  });
  const imported = importOpenApi(
    {
      openapi: '3.0.3',
      info: { title: 'Limits', version: '1' },
      paths: {
        '/a': {
          get: op({
            'x-accredit-rate-limit': {
              client: [
                { quota: 100, window: 86400 },
                { quota: 5, window: 1 },
              ],
            },
          }),
        },
        '/b': { get: op({ 'x-accredit-rate-limit': { client: [{ quota: 0, window: 1 }] } }) },
        '/c': { get: op({}) },
      },
      components: {
        securitySchemes: {
          auth: {
            type: 'oauth2',
            flows: {
              clientCredentials: { tokenUrl: 'https://as.example/token', scopes: { 'a:read': 'Read' } },
            },
          },
        },
      },
    },
    {},
  );
  const a = imported.operations.find((o) => o.path_pattern === '/a');
  assert.deepEqual(a?.rate_limit, {
    client: [
      { quota: 5, window: 1 },
      { quota: 100, window: 86400 },
    ],
  });
  assert.equal(imported.operations.find((o) => o.path_pattern === '/c')?.rate_limit, undefined);
  assert.equal(
    imported.operations.find((o) => o.path_pattern === '/b'),
    undefined,
  );
  assert.ok(
    imported.findings.some(
      (f) => f.code === 'invalid_extension' && f.pointer === '/paths/~1b/get/x-accredit-rate-limit',
    ),
    JSON.stringify(imported.findings),
  );
});

test('config: ok/rateLimit.onStoreError from the environment, open when unset; fail/another value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-rl-config-'));
  try {
    assert.equal(loadConfig(dir, {}).rateLimit?.onStoreError, undefined);
    assert.equal(
      loadConfig(dir, { ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: 'closed' }).rateLimit?.onStoreError,
      'closed',
    );
    assert.throws(() => loadConfig(dir, { ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: 'maybe' }), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edge kit: nginx and Envoy pass the rate-limit headers to the client', () => {
  const settings: EdgeSettings = {
    dir: '/etc/nginx/accredit',
    serverName: 'api.example.com',
    listenPort: 443,
    tlsCert: '/etc/nginx/tls/server.pem',
    tlsKey: '/etc/nginx/tls/server.key',
    gatewayUrl: 'https://accredit.internal:9443',
    decisionUrl: 'https://accredit.internal:9445',
    upstreamUrl: 'http://127.0.0.1:8080',
    clientCertHeader: 'X-Client-Cert',
    platformUrl: 'https://accredit.internal:8443',
  };
  const nginx = nginxAuthRequestConf(settings);
  for (const [variable, header] of [
    ['ratelimit', 'RateLimit'],
    ['ratelimit_policy', 'RateLimit-Policy'],
    ['retry_after', 'Retry-After'],
  ]) {
    assert.ok(nginx.includes(`auth_request_set $accredit_${variable} $upstream_http_${variable};`), nginx);
    assert.ok(nginx.includes(`add_header ${header} $accredit_${variable} always;`), nginx);
  }
  const envoy = envoyYaml(settings);
  for (const header of ['retry-after', 'ratelimit', 'ratelimit-policy'])
    assert.ok(envoy.includes(header), header);
});
