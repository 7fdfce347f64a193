// The published catalog on a started platform's public listener: reached there (not by the authorization
// server's fallback), configured by the environment, and following the platform's own change feed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Agent, request } from 'undici';
import { initPlatform, type PlatformHandle, startPlatform } from '../../../src/platform/index.ts';
import { capturingLogger } from '../../gateway/fixture.ts';
import { freePort } from '../../support/platform-process.ts';
import { operation } from './catalog-fixture.ts';
import { writeCatalogRows } from './write-catalog-rows.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-partner-catalog-'));

describe('platform: the published partner catalog', { timeout: 120_000 }, () => {
  let platform: PlatformHandle;
  let agent: Agent;

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${platform.urls.public}${path}`, { headers, dispatcher: agent });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  before(async () => {
    const dir = join(root, 'data');
    const env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_CATALOG_TITLE: 'Acme Bank API',
      ACCREDIT_CATALOG_ACCESS_REQUEST: 'https://acme.example/partners/access',
    };
    await initPlatform({ dataDir: dir, env });
    platform = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
    agent = new Agent({ connect: { ca: platform.ca.chainPem } });
  });

  after(async () => {
    await agent?.close();
    await platform?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('ok/the page, the JSON and the OpenAPI document are served by the public listener', async () => {
    const page = await get('/catalog');
    assert.equal(page.status, 200, page.text);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.match(page.text, /<h1>Acme Bank API: API access catalog<\/h1>/);
    assert.match(page.text, /<a href="https:\/\/acme.example\/partners\/access">/);

    const json = await get('/catalog.json');
    assert.equal(json.status, 200, json.text);
    const catalog = JSON.parse(json.text);
    assert.equal(catalog.issuer, platform.config.publicUrl);
    assert.equal(catalog.token_endpoint, `${platform.config.mtlsUrl}/token`);
    assert.equal(catalog.gateway_url, platform.config.gatewayUrl);
    assert.equal(catalog.ca_bundle_url, `${platform.config.publicUrl}/pki/ca-bundle.pem`);

    const openapi = await get('/catalog/openapi.json');
    assert.equal(openapi.status, 200, openapi.text);
    await SwaggerParser.validate(JSON.parse(openapi.text));

    const bundle = await get('/pki/ca-bundle.pem');
    assert.equal(bundle.status, 200, 'the CA bundle the page links to is there');
  });

  test('fail/a path next to the catalog is not the catalog', async () => {
    const res = await get('/catalog/other');
    assert.equal(res.status, 404);
  });

  test('ok/a catalog change published on the platform shows on the next request', async () => {
    const before = await get('/catalog.json');
    await writeCatalogRows(
      platform.storage,
      {
        resources: [{ name: 'pubcat_ledger', description: 'The ledger', status: 'active' }],
        scopes: [
          { name: 'pubcat:ledger:read', description: 'Read the ledger', version: 'v1', status: 'active' },
        ],
        roles: [
          {
            name: 'pubcat_ledger_reader',
            description: 'Reads the ledger',
            status: 'active',
            scopes: ['pubcat:ledger:read'],
          },
        ],
        operations: [
          operation({
            id: 'op-pubcat-ledger',
            method: 'GET',
            path_pattern: '/v1/pubcat-ledger/{entry}',
            resource: 'pubcat_ledger',
            description: 'One ledger entry',
            required_scopes: [['pubcat:ledger:read']],
          }),
        ],
      },
      { publish: true },
    );
    const after = await get('/catalog.json');
    assert.notEqual(after.headers.etag, before.headers.etag);
    const entry = JSON.parse(after.text).operations.find(
      (o: { path: string }) => o.path === '/v1/pubcat-ledger/{entry}',
    );
    assert.deepEqual(entry.roles_granting[0].roles, ['pubcat_ledger_reader']);
    const openapi = JSON.parse((await get('/catalog/openapi.json')).text);
    assert.deepEqual(openapi.paths['/v1/pubcat-ledger/{entry}'].get.security, [
      { oauth2: ['pubcat:ledger:read'], mutualTLS: [] },
    ]);
  });
});
