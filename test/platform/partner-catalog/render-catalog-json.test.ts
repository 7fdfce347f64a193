import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderCatalogJson } from '../../../src/platform/partner-catalog/render-catalog-json.ts';
import { CONTEXT, operation, sampleCatalog } from './catalog-fixture.ts';

const byPath = (catalog: ReturnType<typeof renderCatalogJson>, method: string, path: string) => {
  const found = catalog.operations.find((o) => o.method === method && o.path === path);
  assert.ok(found, `${method} ${path} is published`);
  return found;
};

describe('renderCatalogJson: the partner view', () => {
  test('ok/the issuer, the mTLS token endpoint, the gateway and the CA bundle', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    assert.equal(catalog.issuer, 'https://as.example.test');
    assert.equal(catalog.token_endpoint, 'https://mtls.example.test/token');
    assert.equal(catalog.gateway_url, 'https://api.example.test');
    assert.equal(catalog.ca_bundle_url, 'https://as.example.test/pki/ca-bundle.pem');
    assert.equal(catalog.how_to_request_access.contact, 'mailto:partners@bank.example');
    assert.equal(catalog.how_to_request_access.contact_url, 'mailto:partners@bank.example');
    assert.ok(catalog.how_to_request_access.steps.some((s) => s.includes('https://mtls.example.test/token')));
  });

  test('ok/one role holding an alternative is listed; a role holding only part of it is not', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    const get = byPath(catalog, 'GET', '/v1/accounts/{id}');
    assert.deepEqual(get.scopes, [['accounts:read'], ['accounts:write']]);
    assert.deepEqual(
      get.roles_granting.map((g) => ({ scopes: g.scopes, roles: g.roles })),
      [
        { scopes: ['accounts:read'], roles: ['admin', 'reader'] },
        { scopes: ['accounts:write'], roles: ['admin', 'writer'] },
      ],
    );
  });

  test('ok/an alternative only a combination of roles makes up: no single role, the roles per scope', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    const transfer = byPath(catalog, 'POST', '/v1/orgs/{org_id}/transfers');
    const [combination, single] = transfer.roles_granting;
    assert.deepEqual(combination, {
      scopes: ['accounts:read', 'payments:submit'],
      roles: [],
      by_scope: [
        { scope: 'accounts:read', roles: ['admin', 'reader'] },
        { scope: 'payments:submit', roles: ['writer'] },
      ],
    });
    assert.deepEqual(single?.roles, ['writer']);
    assert.equal(transfer.owner_param, 'org_id');
  });

  test('ok/deprecated operations, resources, scopes and roles are marked, not hidden', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    assert.equal(byPath(catalog, 'GET', '/v1/reports/**').deprecated, true);
    assert.equal(byPath(catalog, 'GET', '/v1/accounts').deprecated, false);
    assert.equal(catalog.resources.find((r) => r.name === 'reports')?.deprecated, true);
    assert.deepEqual(
      catalog.scopes.find((s) => s.name === 'reports:download'),
      {
        name: 'reports:download',
        version: 'v2',
        description: 'Download reports',
        deprecated: true,
        roles: ['analyst'],
      },
    );
    assert.equal(catalog.roles.find((r) => r.name === 'analyst')?.deprecated, true);
  });

  test('ok/public, client certificate and DPoP as the partner reads them', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    const status = byPath(catalog, 'GET', '/status');
    assert.equal(status.public, true);
    assert.deepEqual(status.scopes, []);
    assert.deepEqual(status.roles_granting, []);
    assert.equal(status.requires_client_certificate, false);
    const account = byPath(catalog, 'GET', '/v1/accounts/{id}');
    assert.equal(account.accepts_dpop, true);
    assert.equal(account.requires_dpop, false);
    assert.equal(account.requires_client_certificate, false);
    assert.equal(byPath(catalog, 'GET', '/v1/accounts').requires_client_certificate, true);
  });

  test('ok/resources list their operations; scopes list the roles holding them', () => {
    const catalog = renderCatalogJson(sampleCatalog(), CONTEXT);
    assert.deepEqual(catalog.resources.find((r) => r.name === 'accounts')?.operations, [
      { method: 'GET', path: '/v1/accounts' },
      { method: 'GET', path: '/v1/accounts/{id}' },
      { method: 'POST', path: '/v1/orgs/{org_id}/transfers' },
    ]);
    assert.deepEqual(catalog.scopes.find((s) => s.name === 'accounts:read')?.roles, ['admin', 'reader']);
  });

  test('fail/internal ids and import sources are never published', () => {
    const text = JSON.stringify(renderCatalogJson(sampleCatalog(), CONTEXT));
    assert.ok(!text.includes('op-internal-'), 'operation ids stay inside');
    assert.ok(!text.includes('internal-bank-spec'), 'import sources stay inside');
    assert.ok(!/"(id|source)":/.test(text));
  });

  test('fail/a public operation publishes no scopes even if rows were left behind', () => {
    const document = sampleCatalog();
    document.operations = [
      operation({
        method: 'GET',
        path_pattern: '/open',
        auth: 'public',
        required_scopes: [['accounts:read']],
      }),
    ];
    const [open] = renderCatalogJson(document, CONTEXT).operations;
    assert.deepEqual(open?.scopes, []);
  });

  test('fail/instructions that are not an https: or mailto: URL are text, never a link', () => {
    for (const accessRequest of [
      'javascript:alert(1)',
      'http://plain.example',
      'data:text/html,x',
      'Call 555-0100',
    ]) {
      const catalog = renderCatalogJson(sampleCatalog(), { ...CONTEXT, accessRequest });
      assert.equal(catalog.how_to_request_access.contact_url, null, accessRequest);
      assert.equal(catalog.how_to_request_access.contact, accessRequest);
    }
    const https = renderCatalogJson(sampleCatalog(), {
      ...CONTEXT,
      accessRequest: 'https://bank.example/access',
    });
    assert.equal(https.how_to_request_access.contact_url, 'https://bank.example/access');
    const none = renderCatalogJson(sampleCatalog(), { ...CONTEXT, accessRequest: undefined });
    assert.equal(none.how_to_request_access.contact, null);
  });

  test('ok/the version follows the content: same catalog same version, any change a new one', () => {
    const a = renderCatalogJson(sampleCatalog(), CONTEXT);
    const b = renderCatalogJson(sampleCatalog(), CONTEXT);
    assert.equal(a.version, b.version);
    const changed = sampleCatalog();
    changed.roles[0]!.description = 'Reads and writes everything';
    assert.notEqual(renderCatalogJson(changed, CONTEXT).version, a.version);
    assert.notEqual(renderCatalogJson(sampleCatalog(), { ...CONTEXT, title: 'Other' }).version, a.version);
  });
});
