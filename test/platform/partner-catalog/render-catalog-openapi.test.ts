import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { renderCatalogJson } from '../../../src/platform/partner-catalog/render-catalog-json.ts';
import { renderCatalogOpenApi } from '../../../src/platform/partner-catalog/render-catalog-openapi.ts';
import { CONTEXT, operation, sampleCatalog } from './catalog-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: the rendered document is walked as plain JSON.
type Json = any;

const render = (document = sampleCatalog()): Json =>
  renderCatalogOpenApi(renderCatalogJson(document, CONTEXT));

/** swagger-parser's validate dereferences in place: give it a copy of what the platform serves. */
async function validate(document: Json): Promise<void> {
  await SwaggerParser.validate(JSON.parse(JSON.stringify(document)));
}

/** Every `{name}` of each path key is declared once as a required path parameter of each of its operations. */
function assertPathParameters(document: Json): void {
  for (const [key, item] of Object.entries<Json>(document.paths)) {
    const names = [...key.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries<Json>(item)) {
      const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
      assert.deepEqual(declared, names, `${method} ${key}`);
      for (const p of op.parameters ?? []) assert.equal(p.required, true);
    }
  }
}

describe('renderCatalogOpenApi', () => {
  test('ok/validates as OpenAPI 3.1 (swagger-parser)', async () => {
    const document = render();
    assert.equal(document.openapi, '3.1.0');
    await validate(document);
    assertPathParameters(document);
  });

  test('fail/the validator is not lenient: a broken security scheme is refused', async () => {
    const document = render();
    document.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl = undefined;
    await assert.rejects(validate(document));
  });

  test('ok/info, servers, tags and the oauth2 client-credentials scheme at the mTLS token endpoint', () => {
    const document = render();
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    assert.deepEqual(document.info.title, 'Bank API');
    assert.equal(document.info.version, catalog.version);
    assert.deepEqual(document.servers, [{ url: 'https://api.example.test' }]);
    assert.deepEqual(
      document.tags.map((t: Json) => t.name),
      ['accounts', 'reports'],
    );
    assert.equal(document.tags[1]['x-accredit-deprecated'], true);
    const flow = document.components.securitySchemes.oauth2.flows.clientCredentials;
    assert.equal(flow.tokenUrl, 'https://mtls.example.test/token');
    assert.equal(flow.scopes['accounts:read'], 'Read accounts');
    assert.equal(flow.scopes['reports:download'], 'Download reports (deprecated)');
    assert.equal(document.components.securitySchemes.mutualTLS.type, 'mutualTLS');
  });

  test('ok/alternatives are security requirements; mutualTLS joins each one when a certificate is required', () => {
    const document = render();
    assert.deepEqual(document.paths['/v1/orgs/{org_id}/transfers'].post.security, [
      { oauth2: ['accounts:read', 'payments:submit'], mutualTLS: [] },
      { oauth2: ['accounts:write', 'payments:submit'], mutualTLS: [] },
    ]);
    // mtls optional: the token alone (bound or DPoP).
    assert.deepEqual(document.paths['/v1/accounts/{id}'].get.security, [
      { oauth2: ['accounts:read'] },
      { oauth2: ['accounts:write'] },
    ]);
    assert.equal(document.paths['/v1/accounts/{id}'].get['x-accredit-dpop'], true);
  });

  test('ok/a public operation has no security requirement, or only mutualTLS', async () => {
    assert.deepEqual(render().paths['/status'].get.security, []);
    const document = sampleCatalog();
    document.operations = [
      operation({ method: 'GET', path_pattern: '/certified', auth: 'public', mtls: 'required' }),
    ];
    const rendered = render(document);
    assert.deepEqual(rendered.paths['/certified'].get.security, [{ mutualTLS: [] }]);
    await validate(rendered);
  });

  test('ok/operationId, tags, deprecated, owner parameter and the roles extension', () => {
    const document = render();
    const list = document.paths['/v1/accounts'].get;
    assert.equal(list.operationId, 'listAccounts');
    assert.deepEqual(list.tags, ['accounts']);
    assert.equal(list.deprecated, undefined);
    assert.deepEqual(list['x-accredit-roles'][0].roles, ['admin', 'reader']);
    assert.equal(list['x-accredit-pattern'], '/v1/accounts');
    const transfer = document.paths['/v1/orgs/{org_id}/transfers'].post;
    assert.equal(transfer['x-accredit-owner-param'], 'org_id');
    assert.match(transfer.description, /`\{org_id\}` must be your own organisation's id/);
    assert.deepEqual(document['x-accredit-roles'].map((r: Json) => r.name).slice(0, 2), ['admin', 'analyst']);
  });

  test('ok/a final ** becomes {rest}, described as every deeper path, with the catalog pattern alongside', () => {
    const reports = render().paths['/v1/reports/{rest}'].get;
    assert.equal(reports.deprecated, true);
    assert.equal(reports['x-accredit-pattern'], '/v1/reports/**');
    assert.match(reports.description, /every deeper path/);
    assert.deepEqual(
      reports.parameters.map((p: Json) => p.name),
      ['rest'],
    );
  });

  test('ok/patterns OpenAPI deems identical share one path item; a clashing method is listed aside', async () => {
    const document = sampleCatalog();
    document.operations = [
      operation({ method: 'GET', path_pattern: '/files/{id}', required_scopes: [['accounts:read']] }),
      operation({ method: 'DELETE', path_pattern: '/files/{name}', required_scopes: [['accounts:write']] }),
      operation({ method: 'GET', path_pattern: '/files/**', required_scopes: [['reports:download']] }),
      operation({ method: 'PUT', path_pattern: '/files/{rest}/**', required_scopes: [['accounts:write']] }),
    ];
    const rendered = render(document);
    await validate(rendered);
    assertPathParameters(rendered);
    assert.deepEqual(Object.keys(rendered.paths), ['/files/{id}', '/files/{rest}/{rest2}']);
    assert.equal(rendered.paths['/files/{id}'].delete['x-accredit-pattern'], '/files/{name}');
    assert.equal(rendered.paths['/files/{id}'].get['x-accredit-pattern'], '/files/{id}');
    assert.deepEqual(
      rendered['x-accredit-unlisted-operations'].map((o: Json) => [
        o.method,
        o.path,
        o['x-accredit-pattern'],
      ]),
      [['GET', '/files/{rest}', '/files/**']],
    );
    assert.deepEqual(
      rendered['x-accredit-unlisted-operations'][0].parameters.map((p: Json) => p.name),
      ['rest'],
    );
  });

  test('fail/an operationId claimed twice is left out of both', async () => {
    const document = sampleCatalog();
    document.operations = [
      operation({
        method: 'GET',
        path_pattern: '/a',
        operation_id: 'same',
        required_scopes: [['accounts:read']],
      }),
      operation({
        method: 'GET',
        path_pattern: '/b',
        operation_id: 'same',
        required_scopes: [['accounts:read']],
      }),
    ];
    const rendered = render(document);
    assert.equal(rendered.paths['/a'].get.operationId, undefined);
    assert.equal(rendered.paths['/b'].get.operationId, undefined);
    await validate(rendered);
  });

  test('ok/an empty catalog is a valid document', async () => {
    const rendered = render({ resources: [], scopes: [], roles: [], operations: [] });
    assert.deepEqual(rendered.paths, {});
    await validate(rendered);
  });

  test('fail/internal ids and sources stay out of the OpenAPI document too', () => {
    const text = JSON.stringify(render());
    assert.ok(!text.includes('op-internal-'));
    assert.ok(!text.includes('internal-bank-spec'));
  });
});
