import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Agent } from 'undici';
import { initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { call, capturingLogger, clientAgent, csrWithKey } from '../gateway/fixture.ts';
import { createPartner, type Partner } from '../support/ca-fixture.ts';
import { freePort } from '../support/platform-process.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-catalog-live-'));

// The operator's own API: answers every path, so what the gateway lets through is exactly what the catalog says.
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});

describe('platform: catalog edits reach the in-process gateway live', { timeout: 120_000 }, () => {
  const dir = join(root, 'data');
  let platform: PlatformHandle;
  let partner: Partner;
  let agent: Agent;
  let operator: string;
  let accessToken: string;

  const admin = (method: string, path: string, body?: unknown) =>
    call(agent, platform.urls.public, `/admin/v1${path}`, {
      method,
      token: operator,
      ...(body !== undefined ? { body } : {}),
    });
  const through = (path: string) => call(agent, platform.urls.gateway, path, { token: accessToken });

  before(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      ACCREDIT_UPSTREAM_SECRET: 'Zq8-operator-chosen-upstream-secret-0123456789',
    };
    const init = await initPlatform({ dataDir: dir, env });
    operator = readFileSync(init.operatorTokenFile as string, 'utf8').trim();
    platform = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
    partner = await createPartner(platform.storage, 'Acme Bank');
    const { csrPem, keyPem } = await csrWithKey();
    const view = await platform.storage.transaction((tx) =>
      platform.ca.issue(
        tx,
        { clientId: partner.clientId, csrPem },
        { actor: 'operator:test', now: new Date() },
      ),
    );
    agent = clientAgent(platform.ca.chainPem, {
      certPem: view.certificate_pem,
      keyPem,
      x5tS256: view.x5t_s256,
    });
    // The gateway learns the new certificate from the feed; the token endpoint needs nothing more.
    const tokenRes = await agent.request({
      origin: platform.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: partner.clientId,
        scope: 'accounts:read',
      }).toString(),
    });
    assert.equal(tokenRes.statusCode, 200);
    accessToken = ((await tokenRes.body.json()) as { access_token: string }).access_token;
  });

  after(async () => {
    await agent?.close();
    await platform?.stop();
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  test('ok/add → 200, change scope → 403, remove → 404: the very next request follows, no restart', async () => {
    const before = await through('/v1/balances');
    assert.equal(before.status, 404, before.text);
    assert.equal(before.json.code, 'route_not_found');

    const created = await admin('POST', '/catalog/operations', {
      method: 'GET',
      path_pattern: '/v1/balances',
      scope: 'accounts:read',
      description: 'Balances of the organisation’s accounts',
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    assert.equal(created.json.path_pattern, '/v1/balances');
    const added = await through('/v1/balances');
    assert.equal(added.status, 200, added.text);

    const changed = await admin('PATCH', `/catalog/operations/${id}`, { scope: 'accounts:write' });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.json.required_scopes, [['accounts:write']]);
    const refused = await through('/v1/balances');
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 'insufficient_scope');

    const listed = await admin('GET', '/catalog');
    const items = listed.json.items as Array<{ id: string; required_scopes: string[][] }>;
    assert.deepEqual(items.find((i) => i.id === id)?.required_scopes, [['accounts:write']]);

    const removed = await admin('DELETE', `/catalog/operations/${id}`);
    assert.equal(removed.status, 204, removed.text);
    const gone = await through('/v1/balances');
    assert.equal(gone.status, 404, gone.text);
    assert.equal(gone.json.code, 'route_not_found');

    // The seed routes were untouched by the swaps.
    assert.equal((await through('/v1/accounts')).status, 200);

    const audit = await admin('GET', '/audit?limit=1000');
    const actions = (audit.json.items as Array<{ action: string; target_id: string }>)
      .filter((e) => e.target_id === id)
      .map((e) => e.action);
    assert.deepEqual(actions, [
      'catalog.operation.create',
      'catalog.operation.update',
      'catalog.operation.delete',
    ]);
  });

  test('fail/refused edits are RFC 9457 problems listing every finding, and change nothing', async () => {
    const cases: Array<[string, string, string, unknown, number, string, string[]]> = [
      [
        'fail/unknown scope and a pattern conflicting with GET /v1/accounts/{id}',
        'POST',
        '/catalog/operations',
        { method: 'GET', path_pattern: '/v1/accounts/{key}', scope: 'nope:read' },
        400,
        'invalid_input',
        ['unknown_scope', 'conflicting_pattern'],
      ],
      [
        'fail/duplicate',
        'POST',
        '/catalog/operations',
        { method: 'GET', path_pattern: '/v1/accounts', scope: 'accounts:read' },
        400,
        'invalid_input',
        ['duplicate'],
      ],
      [
        'fail/invalid pattern',
        'POST',
        '/catalog/operations',
        { method: 'GET', path_pattern: '/v1/a*b', scope: 'accounts:read' },
        400,
        'invalid_input',
        ['invalid_pattern'],
      ],
      [
        'fail/method outside the schema',
        'POST',
        '/catalog/operations',
        { method: 'TRACE', path_pattern: '/v1/x', scope: 'accounts:read' },
        400,
        'invalid_input',
        [],
      ],
      [
        'fail/unknown property',
        'POST',
        '/catalog/operations',
        { method: 'GET', path_pattern: '/v1/x', scope: 'accounts:read', public: true },
        400,
        'invalid_input',
        [],
      ],
      [
        'fail/empty patch',
        'PATCH',
        '/catalog/operations/00000000-0000-0000-0000-000000000000',
        {},
        400,
        'invalid_input',
        [],
      ],
      [
        'fail/patch of an unknown operation',
        'PATCH',
        '/catalog/operations/00000000-0000-0000-0000-000000000000',
        { scope: 'accounts:read' },
        404,
        'not_found',
        [],
      ],
      [
        'fail/delete of an unknown operation',
        'DELETE',
        '/catalog/operations/00000000-0000-0000-0000-000000000000',
        undefined,
        404,
        'not_found',
        [],
      ],
    ];
    const before = (await admin('GET', '/catalog')).json.items;
    for (const [name, method, path, body, status, code, findings] of cases) {
      const res = await admin(method, path, body);
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.equal(res.json.code, code, name);
      assert.match(res.headers['content-type'] as string, /^application\/problem\+json/, name);
      assert.doesNotMatch(res.text, /at .+\.ts:\d+/, name);
      if (findings.length > 0) {
        assert.deepEqual(
          (res.json.errors as Array<{ code: string }>).map((f) => f.code),
          findings,
          name,
        );
      }
    }
    assert.deepEqual((await admin('GET', '/catalog')).json.items, before);
    assert.equal((await through('/v1/accounts')).status, 200);
  });

  test('ok/the OpenAPI document describes the operations endpoints', async () => {
    const doc = await call(agent, platform.urls.public, '/admin/v1/openapi.json');
    const paths = doc.json.paths as Record<string, Record<string, unknown>>;
    assert.ok(paths['/admin/v1/catalog/operations']?.post);
    assert.ok(paths['/admin/v1/catalog/operations/{id}']?.patch);
    assert.ok(paths['/admin/v1/catalog/operations/{id}']?.delete);
  });
});
