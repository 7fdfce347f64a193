import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { csrWithKey } from '../gateway/fixture.ts';
import { PlatformProcess, run } from '../support/platform-process.ts';

const SPEC = fileURLToPath(new URL('./fixtures/claims-api.yaml', import.meta.url));
const SPEC_V2 = fileURLToPath(new URL('./fixtures/claims-api-v2.yaml', import.meta.url));

/** The provider's own API: a small claims service that records what reached it and with which identity. */
function startClaimsApi(): Promise<{
  server: Server;
  seen: Array<{ method: string; url: string; org?: string }>;
}> {
  const seen: Array<{ method: string; url: string; org?: string }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    const org = req.headers['x-accredit-org-id'];
    seen.push({ method: req.method ?? '', url: req.url ?? '', ...(typeof org === 'string' ? { org } : {}) });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, path: req.url, client: req.headers['x-accredit-client-id'] ?? null }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen })));
}

describe('protecting your own API: import its OpenAPI, enforce, change live', { timeout: 180_000 }, () => {
  let platform: PlatformProcess;
  let claims: Awaited<ReturnType<typeof startClaimsApi>>;
  let operator: string;
  let adminAgent: Agent;
  let partner: { orgId: string; clientId: string; certFile: string; keyFile: string; agent: Agent };
  let otherOrgId: string;

  async function admin<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const res = await request(`${platform.url}/admin/v1${path}`, {
      method: method as 'GET',
      dispatcher: adminAgent,
      headers: {
        authorization: `Bearer ${operator}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async function cli(args: string[]) {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `accredit ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  async function token(): Promise<string> {
    const r = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '--cert',
      partner.certFile,
      '--key',
      partner.keyFile,
      '-d',
      'grant_type=client_credentials',
      '-d',
      `client_id=${partner.clientId}`,
      `${platform.mtlsUrl}/token`,
    ]);
    const body = JSON.parse(r.stdout) as { access_token?: string; scope?: string };
    assert.ok(body.access_token, r.stdout + r.stderr);
    return body.access_token;
  }

  async function call(
    method: string,
    path: string,
    tok?: string,
  ): Promise<{ status: number; code?: string }> {
    const res = await request(`${platform.gatewayUrl}${path}`, {
      method: method as 'GET',
      dispatcher: partner.agent,
      headers: tok ? { authorization: `Bearer ${tok}` } : {},
      ...(method === 'POST'
        ? { body: '{}', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' } }
        : {}),
    });
    const text = await res.body.text();
    if (res.statusCode < 300) return { status: res.statusCode };
    return { status: res.statusCode, code: (JSON.parse(text) as { code?: string }).code };
  }

  before(async () => {
    claims = await startClaimsApi();
    platform = await PlatformProcess.create({
      ACCREDIT_UPSTREAM_URL: `http://127.0.0.1:${(claims.server.address() as AddressInfo).port}`,
    });
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
    adminAgent = new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } });
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    claims?.server.close();
    await adminAgent?.close();
    await partner?.agent.close();
  });

  test('ok/import: the dry run shows the diff and changes nothing; the import applies it', async () => {
    const dry = await cli(['catalog', 'import', SPEC, '--dry-run']);
    const ops = (dry.diff as { operations: { added: Array<{ method: string; path_pattern: string }> } })
      .operations;
    assert.deepEqual(ops.added.map((o) => `${o.method} ${o.path_pattern}`).sort(), [
      'GET /v2/claims',
      'GET /v2/claims/{claimId}',
      'GET /v2/health',
      'GET /v2/orgs/{org_id}/policies',
      'POST /v2/claims',
    ]);
    assert.equal(dry.applied, false);
    const before = await admin<{ items: unknown[] }>('GET', '/catalog/operations');
    assert.equal(before.items.length, 5, 'the sample catalog only');

    const applied = await cli(['catalog', 'import', SPEC]);
    assert.equal(applied.applied, true);
    const doc = await admin<{
      operations: Array<Record<string, unknown>>;
      scopes: Array<{ name: string; version: string | null }>;
    }>('GET', '/catalog/document');
    assert.equal(doc.operations.length, 10);
    assert.equal(doc.scopes.find((s) => s.name === 'claims:read:v1')?.version, 'v1');
    const policies = doc.operations.find((o) => o.path_pattern === '/v2/orgs/{org_id}/policies');
    assert.equal(policies?.owner_param, 'org_id');
    assert.equal(doc.operations.find((o) => o.path_pattern === '/v2/health')?.auth, 'public');

    // A role bundles the imported scopes; a partner organisation created now is approved for it.
    await cli([
      'catalog',
      'role',
      'add',
      'claims_reader',
      '--scopes',
      'claims:read:v1,policies:read:v1',
      '--description',
      'Reads claims and policies',
    ]);
    await cli(['catalog', 'role', 'add', 'claims_filer', '--scopes', 'claims:write:v1']);
    const org = await admin<{ id: string }>('POST', '/organisations', { name: 'Broker One' });
    otherOrgId = (await admin<{ id: string }>('POST', '/organisations', { name: 'Broker Two' })).id;
    const app = await admin<{ client_id: string }>('POST', '/applications', {
      org_id: org.id,
      name: 'Claims sync',
      roles: ['claims_reader'],
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
    const certFile = join(platform.dir, 'partner.pem');
    const keyFile = join(platform.dir, 'partner.key');
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    partner = {
      orgId: org.id,
      clientId: app.client_id,
      certFile,
      keyFile,
      agent: new Agent({
        connect: { ca: readFileSync(platform.caBundle, 'utf8'), cert: cert.certificate_pem, key: keyPem },
      }),
    };
  });

  test('ok/200 with the right role; fail/403 without it, 404 off the catalog, 403 for another organisation', async () => {
    const tok = await token();
    const seen = () => claims.seen.length;
    assert.equal((await call('GET', '/v2/claims', tok)).status, 200);
    assert.equal((await call('GET', '/v2/claims/c-17', tok)).status, 200);
    assert.equal((await call('GET', `/v2/orgs/${partner.orgId}/policies`, tok)).status, 200);
    assert.equal(claims.seen.at(-1)?.org, partner.orgId, 'the upstream learns the caller organisation');
    const reached = seen();
    assert.deepEqual(await call('POST', '/v2/claims', tok), { status: 403, code: 'insufficient_scope' });
    assert.deepEqual(await call('GET', '/v2/claims/c-17/documents', tok), {
      status: 404,
      code: 'route_not_found',
    });
    assert.deepEqual(await call('GET', `/v2/orgs/${otherOrgId}/policies`, tok), {
      status: 403,
      code: 'resource_owner_mismatch',
    });
    assert.equal(seen(), reached, 'no refused request reached the upstream');
    // Public: no token at all.
    assert.equal((await call('GET', '/v2/health')).status, 200);
    // The sample API's routes were left alone by the import (they go to this upstream now).
    assert.equal((await call('GET', '/v1/accounts', tok)).status, 403);
  });

  test('ok/a scope change is felt by the very next request, no restart; tokens keep their scopes', async () => {
    const tok = await token();
    const doc = await admin<{ operations: Array<{ id: string; method: string; path_pattern: string }> }>(
      'GET',
      '/catalog/document',
    );
    const list = doc.operations.find((o) => o.method === 'GET' && o.path_pattern === '/v2/claims');
    assert.ok(list);
    assert.equal((await call('GET', '/v2/claims', tok)).status, 200);
    await cli(['catalog', 'operation', 'update', list.id, '--scope', 'claims:write:v1']);
    assert.deepEqual(await call('GET', '/v2/claims', tok), { status: 403, code: 'insufficient_scope' });
    // Staged in a draft: partners feel nothing until it is promoted.
    await cli(['catalog', 'operation', 'update', list.id, '--scope', 'claims:read:v1', '--draft']);
    assert.deepEqual(await call('GET', '/v2/claims', tok), { status: 403, code: 'insufficient_scope' });
    const promoted = await cli(['catalog', 'draft', 'promote']);
    assert.equal(promoted.applied, true);
    assert.equal((await call('GET', '/v2/claims', tok)).status, 200);
  });

  test('ok/an application’s roles change → its next token changes; the old token keeps its scopes', async () => {
    const old = await token();
    await cli(['app', 'role', 'grant', partner.clientId, 'claims_filer']);
    const grown = await token();
    assert.deepEqual(await call('POST', '/v2/claims', old), { status: 403, code: 'insufficient_scope' });
    assert.equal((await call('POST', '/v2/claims', grown)).status, 200);
    await cli(['app', 'role', 'revoke', partner.clientId, 'claims_filer']);
    assert.deepEqual(await call('POST', '/v2/claims', await token()), {
      status: 403,
      code: 'insufficient_scope',
    });
  });

  test('ok/re-importing a new version shows added, changed and removed operations, then applies them', async () => {
    const dry = await platform.cli(['catalog', 'import', SPEC_V2, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+ operation DELETE \/v2\/claims\/\{claimId\}/);
    assert.match(dry.stdout, /~ operation GET \/v2\/claims\/\{claimId\}.*required_scopes/);
    assert.match(dry.stdout, /- operation GET \/v2\/health/);
    assert.match(dry.stdout, /dry run: nothing changed/);
    const tok = await token();
    assert.equal((await call('GET', '/v2/health')).status, 200, 'the dry run changed nothing');
    await cli(['catalog', 'import', SPEC_V2]);
    assert.deepEqual(
      await call('GET', '/v2/health'),
      { status: 401, code: 'token_missing' },
      'no longer public',
    );
    assert.deepEqual(await call('GET', '/v2/claims/c-1', tok), { status: 403, code: 'insufficient_scope' });
  });
});
