import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ImportOpenApiOptions, importOpenApi } from '../../../src/directory/catalog-import/index.ts';
import type { OpenApiDocument } from '../../../src/directory/catalog-import/parse-openapi.ts';
import { normaliseBasePath, serverBasePath } from '../../../src/directory/catalog-import/path-template.ts';
import { scopeVersion } from '../../../src/directory/catalog-import/security.ts';
import { codes, importFixture } from './fixtures.ts';

/** `METHOD pattern scopes|public [mtls] [dpop] [owner] [status] (resource)`: one line says what the gateway will do. */
const summary = (ops: ReturnType<typeof importOpenApi>['operations']) =>
  ops.map(
    (o) =>
      `${o.method} ${o.path_pattern} ${o.auth === 'public' ? 'public' : o.required_scopes.map((a) => a.join('+')).join('|')}` +
      `${o.mtls === 'optional' ? ' mtls-optional' : ''}${o.dpop === 'accepted' ? ' dpop' : o.dpop === 'required' ? ' dpop-only' : ''}` +
      `${o.owner_param ? ` owner=${o.owner_param}` : ''}${o.status === 'deprecated' ? ' deprecated' : ''}` +
      ` (${o.resource ?? '-'})`,
  );

const OAUTH = {
  type: 'oauth2',
  flows: {
    clientCredentials: {
      tokenUrl: 'https://auth.example.test/token',
      scopes: { 'a:read': 'Read A', 'a:write': 'Write A' },
    },
  },
};

/** A small 3.0 document: `paths` as given, an oauth2 scheme `auth`, anything else from `extra`. */
function spec(paths: Record<string, unknown>, extra: Record<string, unknown> = {}): OpenApiDocument {
  return {
    openapi: '3.0.3',
    info: { title: 'Inline Test API', version: '1' },
    paths,
    ...extra,
    components: { securitySchemes: { auth: OAUTH, key: { type: 'apiKey', in: 'header', name: 'X-Key' } } },
  };
}
const op = (extra: Record<string, unknown> = {}) => ({
  responses: { '200': { description: 'ok' } },
  security: [{ auth: ['a:read'] }],
  ...extra,
});

describe('importOpenApi', () => {
  test('ok/the 3.0 banking document: base path, params, alternatives, public, deprecated, extensions', async () => {
    const imported = await importFixture('banking-v1.yaml');
    assert.deepEqual(imported.findings, []);
    assert.equal(imported.source, 'openapi:northwind-bank-account-information-api');
    assert.deepEqual(summary(imported.operations), [
      'POST /v1/account-access-consents consents:write dpop (consents)',
      'DELETE /v1/account-access-consents/{consentId} consents:write (consents)',
      'GET /v1/account-access-consents/{consentId} consents:read (consents)',
      'GET /v1/accounts accounts:read:v1 (accounts)',
      'GET /v1/accounts/{accountId} accounts:read:v1 (accounts)',
      'GET /v1/accounts/{accountId}/balances balances:read:v1 (balances)',
      'GET /v1/accounts/{accountId}/statements statements:read:v1 deprecated (accounts)',
      'GET /v1/accounts/{accountId}/transactions accounts:read:v1+transactions:history|transactions:read:v1 (transactions)',
      'GET /v1/organisations/{organisationId}/consents consents:read owner=organisationId (consents)',
      'GET /v1/status public (status)',
    ]);
    assert.deepEqual(
      imported.operations.map((o) => [o.operation_id, o.source]),
      imported.operations.map((o) => [o.operation_id, 'openapi:northwind-bank-account-information-api']),
    );
    assert.equal(imported.pointers[0], '/paths/~1account-access-consents/post');
    const transactions = imported.operations.find((o) => o.operation_id === 'getAccountTransactions')!;
    assert.match(transactions.description, /^Booked and pending transactions of an account/);
    assert.deepEqual(
      imported.scopes.map((s) => [s.name, s.version, s.description]),
      [
        ['accounts:read:v1', 'v1', 'Read account details'],
        ['balances:read:v1', 'v1', 'Read balances'],
        ['consents:read', null, 'Read account access consents'],
        ['consents:write', null, 'Create and revoke account access consents'],
        ['statements:read:v1', 'v1', 'Read statements'],
        ['transactions:history', null, 'Read transactions older than 90 days'],
        ['transactions:read:v1', 'v1', 'Read transactions of the last 90 days'],
      ],
    );
    assert.deepEqual(
      imported.resources.map((r) => [r.name, r.description]),
      [
        ['accounts', 'Payment accounts the customer consented to share'],
        ['balances', 'Booked and available balances'],
        ['consents', 'Account access consents'],
        ['status', ''],
        ['transactions', 'Booked and pending transactions'],
      ],
    );
  });

  test('ok/the 3.1 payments document: server variables, mutualTLS, openIdConnect, webhooks ignored', async () => {
    const imported = await importFixture('payments-3.1.json');
    assert.deepEqual(imported.findings, []);
    assert.equal(imported.source, 'openapi:contoso-payment-initiation');
    assert.deepEqual(summary(imported.operations), [
      'POST /payments/v3/domestic-payments payments:initiate dpop (payments)',
      'GET /payments/v3/domestic-payments/{paymentId} openid+payments:read|payments:read (payments)',
      'POST /payments/v3/funds-confirmations funds:confirm mtls-optional (funds)',
    ]);
    // Scopes of an openIdConnect scheme are declared in its discovery document, never fetched: no warning.
    assert.deepEqual(
      imported.scopes.map((s) => [s.name, s.description]),
      [
        ['funds:confirm', 'Confirm availability of funds'],
        ['openid', ''],
        ['payments:initiate', 'Initiate payments'],
        ['payments:read', 'Read payment status'],
      ],
    );
  });

  test('ok/the petstore: relative server, public operations by route and by operationId, warnings', async () => {
    const imported = await importFixture('petstore-3.0.json', {
      publicOperations: ['GET /user/login', 'logoutUser'],
    });
    assert.deepEqual(summary(imported.operations), [
      'POST /api/v3/pet read:pets+write:pets (pet)',
      'PUT /api/v3/pet read:pets+write:pets (pet)',
      'GET /api/v3/pet/findByStatus read:pets (pet)',
      'DELETE /api/v3/pet/{petId} write:pets (pet)',
      'GET /api/v3/pet/{petId} read:pets (pet)',
      'POST /api/v3/pet/{petId}/uploadImage read:pets+write:pets (pet)',
      'GET /api/v3/store/inventory read:store (store)',
      'POST /api/v3/store/order write:orders (store)',
      'GET /api/v3/user/login public (user)',
      'GET /api/v3/user/logout public (user)',
    ]);
    assert.deepEqual(codes(imported.findings), [
      'warning non_oauth_scheme /paths/~1pet~1findByStatus/get/security/1/api_key',
      'warning unsupported_method /paths/~1pet~1{petId}/options',
      'warning undeclared_scope /paths/~1store~1inventory/get/security/0/petstore_auth/0',
      'warning undeclared_scope /paths/~1store~1order/post/security/0/petstore_auth/0',
    ]);
    // The undeclared scopes are still created, without a description.
    assert.deepEqual(
      imported.scopes.map((s) => [s.name, s.description]),
      [
        ['read:pets', 'read your pets'],
        ['read:store', ''],
        ['write:orders', ''],
        ['write:pets', 'modify pets in your account'],
      ],
    );
    assert.equal(imported.operations.find((o) => o.operation_id === 'logoutUser')?.description, 'logoutUser');
  });

  test('ok/publicOperations may name the resulting pattern too', async () => {
    const imported = await importFixture('petstore-3.0.json', {
      publicOperations: ['GET /api/v3/user/login', 'GET /user/logout'],
    });
    assert.equal(imported.operations.filter((o) => o.auth === 'public').length, 2);
  });

  const refusedFixtures: Array<[string, string, string[]]> = [
    [
      'fail/no security anywhere, and an explicit security: []',
      'no-security.yaml',
      [
        'error operation_without_security /paths/~1reports/get',
        'error operation_without_security /paths/~1reports~1{reportId}~1download/get',
      ],
    ],
    [
      'fail/API keys and basic authentication only',
      'apikey-only.yaml',
      [
        'warning non_oauth_scheme /security/0/stationKey',
        'warning non_oauth_scheme /security/1/basicAuth',
        'error operation_without_security /paths/~1stations/get',
        'error operation_without_security /paths/~1stations~1{stationId}~1readings/get',
      ],
    ],
    [
      'fail/an OAuth requirement without scopes',
      'empty-scopes.yaml',
      ['error no_scopes /paths/~1documents/get/security/0/vaultAuth'],
    ],
  ];
  for (const [name, file, expected] of refusedFixtures) {
    test(name, async () => {
      const imported = await importFixture(file);
      assert.deepEqual(codes(imported.findings), expected);
      // Refused operations are left out; the others are still mapped.
      for (const pointer of expected.filter((e) => e.startsWith('error')).map((e) => e.split(' ')[2]!)) {
        assert.ok(!imported.pointers.some((p) => pointer.startsWith(p)), pointer);
      }
    });
  }

  test('ok/an operation-level security list replaces the document-level one', () => {
    const imported = importOpenApi(
      spec(
        { '/a': { get: op({ security: undefined }), post: op({ security: [{ auth: ['a:write'] }] }) } },
        { security: [{ auth: ['a:read'] }] },
      ),
    );
    assert.deepEqual(imported.findings, []);
    assert.deepEqual(summary(imported.operations), ['GET /a a:read (-)', 'POST /a a:write (-)']);
  });

  const CASES: Array<[string, Record<string, unknown>, string[], string[], ImportOpenApiOptions?]> = [
    [
      'fail/a parameter inside a segment',
      { '/files/{id}.json': { get: op() }, '/docs/v{major}/index': { get: op() } },
      [],
      [
        'error invalid_path_template /paths/~1files~1{id}.json',
        'error invalid_path_template /paths/~1docs~1v{major}~1index',
      ],
    ],
    [
      'fail/a literal the catalog cannot hold (percent sign, empty segment)',
      { '/a%20b': { get: op() }, '/trailing/': { get: op() } },
      [],
      ['error invalid_path_template /paths/~1a%20b', 'error invalid_path_template /paths/~1trailing~1'],
    ],
    [
      'ok/parameter names are spelled as the catalog spells them',
      { '/accounts/{Account-Id}/cards/{card_id}': { get: op() } },
      ['GET /accounts/{account_Id}/cards/{card_id} a:read (-)'],
      [],
    ],
    [
      'fail/a parameter name that cannot be spelled as a pattern parameter',
      { '/a/{1st}': { get: op() } },
      [],
      ['error invalid_path_template /paths/~1a~1{1st}'],
    ],
    [
      'fail/the root path needs a base path',
      { '/': { get: op() } },
      [],
      ['error invalid_path_template /paths/~1'],
    ],
    [
      'ok/the root path under a base path',
      { '/': { get: op() } },
      ['GET /v2 a:read (-)'],
      [],
      { basePath: '/v2/' },
    ],
    [
      'fail/the same route twice (parameter names differ)',
      { '/a/{x}': { get: op() }, '/a/{y}': { get: op() } },
      ['GET /a/{x} a:read (-)'],
      ['error duplicate_operation /paths/~1a~1{y}/get'],
    ],
    [
      'fail/the same operationId twice',
      { '/a': { get: op({ operationId: 'same' }) }, '/b': { get: op({ operationId: 'same' }) } },
      ['GET /a a:read (-)'],
      ['error duplicate_operation_id /paths/~1b/get/operationId'],
    ],
    [
      'fail/a requirement naming an undefined scheme',
      { '/a': { get: op({ security: [{ nope: ['a:read'] }] }) } },
      [],
      ['error undefined_scheme /paths/~1a/get/security/0/nope'],
    ],
    [
      'fail/a scope name OAuth cannot carry',
      { '/a': { get: op({ security: [{ auth: ['a read'] }] }) } },
      [],
      ['error invalid_scope_name /paths/~1a/get/security/0/auth/0'],
    ],
    [
      'ok/the owner parameter by its document name or its pattern name',
      {
        '/orgs/{OrgId}/a': { get: op({ 'x-accredit-owner-param': 'OrgId' }) },
        '/orgs/{OrgId}/b': { get: op({ 'x-accredit-owner-param': 'orgId' }) },
      },
      ['GET /orgs/{orgId}/a a:read owner=orgId (-)', 'GET /orgs/{orgId}/b a:read owner=orgId (-)'],
      [],
    ],
    [
      'fail/an owner parameter that is not a path parameter',
      {
        '/orgs/{orgId}': { get: op({ 'x-accredit-owner-param': 'org' }) },
        '/a': { get: op({ 'x-accredit-owner-param': 'x' }) },
      },
      [],
      [
        'error invalid_owner_param /paths/~1orgs~1{orgId}/get/x-accredit-owner-param',
        'error invalid_owner_param /paths/~1a/get/x-accredit-owner-param',
      ],
    ],
    [
      'fail/extension values of the wrong kind',
      {
        '/a': { get: op({ 'x-accredit-dpop': 'yes' }) },
        '/b': { get: op({ 'x-accredit-mtls': 'sometimes' }) },
        '/c': { get: op({ 'x-accredit-public': 'true' }) },
      },
      [],
      [
        'error invalid_extension /paths/~1a/get/x-accredit-dpop',
        'error invalid_extension /paths/~1b/get/x-accredit-mtls',
        'error invalid_extension /paths/~1c/get/x-accredit-public',
      ],
    ],
    [
      'ok/x-accredit-dpop: "required" admits DPoP-bound tokens only',
      { '/a': { get: op({ 'x-accredit-dpop': 'required', 'x-accredit-mtls': 'optional' }) } },
      ['GET /a a:read mtls-optional dpop-only (-)'],
      [],
    ],
    [
      'ok/x-accredit-mtls: required and x-accredit-dpop: false are the defaults, said out loud',
      {
        '/a': {
          get: op({ 'x-accredit-mtls': 'required', 'x-accredit-dpop': false, 'x-accredit-public': false }),
        },
      },
      ['GET /a a:read (-)'],
      [],
    ],
    [
      'ok/OPTIONS and TRACE are skipped with a warning',
      { '/a': { get: op(), options: op(), trace: op() } },
      ['GET /a a:read (-)'],
      ['warning unsupported_method /paths/~1a/options', 'warning unsupported_method /paths/~1a/trace'],
    ],
    [
      'ok/an anonymous alternative is not offered (the gateway requires a token)',
      { '/a': { get: op({ security: [{}, { auth: ['a:read'] }] }) } },
      ['GET /a a:read (-)'],
      ['warning anonymous_alternative /paths/~1a/get/security/0'],
    ],
    [
      'fail/only an anonymous alternative',
      { '/a': { get: op({ security: [{}] }) } },
      [],
      [
        'warning anonymous_alternative /paths/~1a/get/security/0',
        'error operation_without_security /paths/~1a/get',
      ],
    ],
    [
      'ok/an alternative mixing an API key with OAuth keeps its scopes',
      { '/a': { get: op({ security: [{ auth: ['a:read'], key: [] }] }) } },
      ['GET /a a:read (-)'],
      ['warning non_oauth_scheme /paths/~1a/get/security/0/key'],
    ],
    [
      'ok/a public operation with OAuth requirements: they are not enforced',
      { '/a': { get: op({ 'x-accredit-public': true }) } },
      ['GET /a public (-)'],
      ['warning public_with_security /paths/~1a/get'],
    ],
    [
      'ok/the base path option replaces the servers',
      { '/a': { get: op() } },
      ['GET /gw/a a:read (-)'],
      [],
      { basePath: 'gw' },
    ],
    [
      'ok/an empty base path option means none',
      { '/a': { get: op({ servers: [{ url: '/op' }] }) } },
      ['GET /a a:read (-)'],
      [],
      { basePath: '' },
    ],
    [
      'ok/servers of an operation, then of its path, then of the document',
      {
        '/a': { get: op({ servers: [{ url: 'https://x.test/op/' }] }), post: op() },
        '/b': { servers: [{ url: '/path' }], get: op() },
        '/c': { get: op() },
      },
      ['GET /op/a a:read (-)', 'GET /path/b a:read (-)', 'POST /root/a a:read (-)', 'GET /root/c a:read (-)'],
      [],
    ],
    [
      'ok/description: summary, else description (500 characters at most), else operationId, else nothing',
      {
        '/a': { get: op({ summary: '  Read A  ', description: 'long' }) },
        '/b': { get: op({ description: 'x'.repeat(600) }) },
        '/c': { get: op({ operationId: 'readC' }) },
        '/d': { get: op() },
      },
      ['GET /a a:read (-)', 'GET /b a:read (-)', 'GET /c a:read (-)', 'GET /d a:read (-)'],
      [],
    ],
    [
      'ok/tags: the first one is the resource',
      { '/a': { get: op({ tags: ['alpha', 'beta'] }) } },
      ['GET /a a:read (alpha)'],
      [],
    ],
    [
      'ok/publicOperations naming nothing is a warning',
      { '/a': { get: op() } },
      ['GET /a a:read (-)'],
      ['warning unknown_public_operation '],
      { publicOperations: ['GET /nope'] },
    ],
    [
      'fail/a source name that is not a slug',
      { '/a': { get: op() } },
      ['GET /a a:read (-)'],
      ['error invalid_source '],
      { source: 'Not A Slug' },
    ],
    ['fail/no operation at all is a warning', {}, [], ['warning no_operations /paths']],
  ];
  for (const [name, paths, ops, findings, options] of CASES) {
    test(name, () => {
      const document = name.includes('servers of an operation')
        ? spec(paths, { servers: [{ url: '/root' }] })
        : spec(paths);
      const imported = importOpenApi(document, options);
      assert.deepEqual(codes(imported.findings), findings, JSON.stringify(imported.findings));
      assert.deepEqual(summary(imported.operations), ops);
      if (name.startsWith('ok/description')) {
        assert.deepEqual(
          imported.operations.map((o) => o.description),
          ['Read A', 'x'.repeat(500), 'readC', ''],
        );
      }
    });
  }

  test('ok/mutualTLS in a requirement keeps mTLS required, even against x-accredit-mtls: optional', () => {
    const document = spec({
      '/a': { get: op({ security: [{ auth: ['a:read'], cert: [] }], 'x-accredit-mtls': 'optional' }) },
      '/b': { get: op({ security: [{ auth: ['a:read'], cert: [] }] }) },
    });
    (document.components as { securitySchemes: Record<string, unknown> }).securitySchemes.cert = {
      type: 'mutualTLS',
    };
    const imported = importOpenApi({ ...document, openapi: '3.1.0' });
    assert.deepEqual(codes(imported.findings), ['warning mtls_conflict /paths/~1a/get/x-accredit-mtls']);
    assert.deepEqual(
      imported.operations.map((o) => o.mtls),
      ['required', 'required'],
    );
  });

  test('fail/a requirement naming an inherited property is no scheme', () => {
    const imported = importOpenApi(
      spec({
        '/a': {
          get: op({ security: [JSON.parse('{"__proto__":["a:read"]}'), { constructor: ['a:read'] }] }),
        },
      }),
    );
    assert.deepEqual(codes(imported.findings), [
      'error undefined_scheme /paths/~1a/get/security/0/__proto__',
      'error undefined_scheme /paths/~1a/get/security/1/constructor',
    ]);
  });

  test('ok/an undeclared scope is warned about once, wherever it is used', () => {
    const imported = importOpenApi(
      spec({
        '/a': { get: op({ security: [{ auth: ['a:list'] }] }) },
        '/b': { get: op({ security: [{ auth: ['a:list'] }] }) },
      }),
    );
    assert.deepEqual(codes(imported.findings), ['warning undeclared_scope /paths/~1a/get/security/0/auth/0']);
    assert.deepEqual(
      imported.scopes.map((s) => [s.name, s.description]),
      [
        ['a:list', ''],
        ['a:read', 'Read A'],
        ['a:write', 'Write A'],
      ],
    );
  });

  test('ok/the source: the given name, else a slug of the title', () => {
    assert.equal(importOpenApi(spec({}), { source: 'core-banking.v2' }).source, 'openapi:core-banking.v2');
    const titled = spec({});
    titled.info = { title: '  Zürich Payments — Beta! ', version: '1' };
    assert.equal(importOpenApi(titled).source, 'openapi:zurich-payments-beta');
    titled.info = { title: '———', version: '1' };
    assert.deepEqual(codes(importOpenApi(titled).findings).slice(0, 1), ['error invalid_source /info/title']);
  });

  test('ok/scope versions', () => {
    const cases: Array<[string, string | null]> = [
      ['accounts:read:v1', 'v1'],
      ['accounts.read.v2', 'v2'],
      ['accounts:read:v2.1', 'v2.1'],
      ['accounts:read', null],
      ['reports:v1:read', null],
      ['v1', null],
      ['accounts:readv1', null],
    ];
    for (const [scope, version] of cases) assert.equal(scopeVersion(scope), version, scope);
  });

  test('ok/server base paths', () => {
    const cases: Array<[unknown, unknown]> = [
      [{ url: 'https://api.example.test/v1' }, { basePath: '/v1' }],
      [{ url: 'https://api.example.test/' }, { basePath: '' }],
      [{ url: 'https://api.example.test' }, { basePath: '' }],
      [{ url: '/v1/' }, { basePath: '/v1' }],
      [{ url: 'v1' }, { basePath: '/v1' }],
      [{ url: '/' }, { basePath: '' }],
      [
        {
          url: 'https://{env}.example.test/{base}',
          variables: { env: { default: 'api' }, base: { default: 'a/b' } },
        },
        { basePath: '/a/b' },
      ],
      [
        { url: 'https://example.test/{base}', variables: {} },
        { error: 'the server variable "{base}" has no default' },
      ],
      [{ url: 'https://[nope/v1' }, { error: 'the server URL "https://[nope/v1" is not a URL' }],
    ];
    for (const [server, expected] of cases)
      assert.deepEqual(serverBasePath(server), expected, JSON.stringify(server));
    assert.equal(normaliseBasePath('//'), '');
  });
});
