import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEED_ROUTES } from '../../src/directory/index.ts';
import {
  type CatalogRoute,
  compileRouteTable,
  GatewayError,
  parseRequestTarget,
} from '../../src/gateway/index.ts';

const seed = compileRouteTable(
  SEED_ROUTES.map((r) => ({ method: r.method, pathPattern: r.pathPattern, scope: r.scope })),
);

function lookup(table: ReturnType<typeof compileRouteTable>, method: string, url: string) {
  return table.match(method, parseRequestTarget(url).segments);
}

describe('route table', () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ['ok/collection', 'GET', '/v1/accounts', 'accounts:read'],
    ['ok/one param segment', 'GET', '/v1/accounts/acc_123', 'accounts:read'],
    ['ok/same path, other method, other scope', 'POST', '/v1/accounts', 'accounts:write'],
    ['ok/final ** takes one segment', 'GET', '/v1/reports/monthly', 'reports:download'],
    ['ok/final ** takes several segments', 'GET', '/v1/reports/2026/q1.csv', 'reports:download'],
    ['ok/HEAD needs what GET needs (RFC 9110 §9.3.2)', 'HEAD', '/v1/accounts', 'accounts:read'],
    ['ok/query is not part of the match', 'GET', '/v1/accounts?limit=5', 'accounts:read'],
    ['fail/final ** needs at least one segment', 'GET', '/v1/reports', undefined],
    ['fail/final ** does not take an empty segment', 'GET', '/v1/reports/', undefined],
    ['fail/{param} does not take an empty segment', 'GET', '/v1/accounts/', undefined],
    ['fail/{param} is one segment only', 'GET', '/v1/accounts/a/b', undefined],
    ['fail/method not listed', 'DELETE', '/v1/accounts', undefined],
    ['fail/unlisted path', 'GET', '/v1/payments', undefined],
    ['fail/prefix only', 'GET', '/v1', undefined],
    ['fail/case matters', 'GET', '/V1/accounts', undefined],
    ['fail/double slash', 'GET', '/v1//accounts', undefined],
    ['fail/encoded literal is not the literal', 'GET', '/v1/%61ccounts', undefined],
    ['fail/matrix parameters are not the literal', 'GET', '/v1/accounts;x=1', undefined],
  ];
  for (const [name, method, url, scope] of cases) {
    test(name, () => {
      assert.equal(lookup(seed, method, url)?.scopeText, scope);
    });
  }

  test('ok/literal beats {param} beats **, with backtracking', () => {
    const table = compileRouteTable([
      { method: 'GET', pathPattern: '/a/{x}/c', scope: 'param' },
      { method: 'GET', pathPattern: '/a/b/d', scope: 'literal' },
      { method: 'GET', pathPattern: '/a/**', scope: 'rest' },
    ]);
    assert.equal(lookup(table, 'GET', '/a/b/d')?.scopeText, 'literal');
    assert.equal(lookup(table, 'GET', '/a/b/c')?.scopeText, 'param');
    assert.equal(lookup(table, 'GET', '/a/b/e')?.scopeText, 'rest');
    assert.equal(lookup(table, 'GET', '/a/b/d')?.pathPattern, '/a/b/d');
  });

  test('ok/several catalog rows for one operation: any of their scopes grants it', () => {
    const table = compileRouteTable([
      { method: 'GET', pathPattern: '/x', scope: 'one' },
      { method: 'GET', pathPattern: '/x', scope: 'two' },
      { method: 'GET', pathPattern: '/x', scope: 'one' },
    ]);
    assert.deepEqual(lookup(table, 'GET', '/x')?.alternatives, [['one'], ['two']]);
    assert.deepEqual(lookup(table, 'GET', '/x')?.singleScopes, ['one', 'two']);
    assert.equal(lookup(table, 'GET', '/x')?.scopeText, 'one two');
  });

  test('ok/root pattern', () => {
    const table = compileRouteTable([{ method: 'GET', pathPattern: '/', scope: 'root' }]);
    assert.equal(lookup(table, 'GET', '/')?.scopeText, 'root');
    assert.equal(lookup(table, 'GET', '/x'), undefined);
  });

  const bad: Array<[string, CatalogRoute, RegExp]> = [
    ['fail/** not last', { method: 'GET', pathPattern: '/a/**/b', scope: 's' }, /final/],
    ['fail/no leading slash', { method: 'GET', pathPattern: 'a', scope: 's' }, /start with/],
    ['fail/lower-case method', { method: 'get', pathPattern: '/a', scope: 's' }, /method/],
    ['fail/scope with a space', { method: 'GET', pathPattern: '/a', scope: 'a b' }, /scope/],
    ['fail/dot-dot literal', { method: 'GET', pathPattern: '/a/..', scope: 's' }, /segment/],
    ['fail/glob inside a segment', { method: 'GET', pathPattern: '/a/b*', scope: 's' }, /segment/],
  ];
  for (const [name, route, message] of bad) {
    test(name, () => assert.throws(() => compileRouteTable([route]), message));
  }
});

describe('route policies', () => {
  const op = (over: Record<string, unknown> = {}): CatalogRoute =>
    ({
      method: 'GET',
      pathPattern: '/v1/orgs/{org}/accounts',
      scopes: [['accounts:read']],
      auth: 'token',
      mtls: 'required',
      dpop: 'refused',
      ...over,
    }) as CatalogRoute;

  test('ok/a legacy row gets the policy every route had: token, mTLS required, DPoP refused, no owner', () => {
    const m = lookup(compileRouteTable([{ method: 'GET', pathPattern: '/a', scope: 's' }]), 'GET', '/a');
    assert.deepEqual(m && { ...m }, {
      method: 'GET',
      pathPattern: '/a',
      alternatives: [['s']],
      singleScopes: ['s'],
      scopeText: 's',
      auth: 'token',
      mtls: 'required',
      dpop: 'refused',
      ownerParam: undefined,
      ownerIndex: -1,
    });
  });

  test('ok/an operation carries its alternatives, policy and owner segment index', () => {
    const table = compileRouteTable([
      op({
        scopes: [['b:write', 'a:read'], ['admin']],
        mtls: 'optional',
        dpop: 'accepted',
        ownerParam: 'org',
      }),
    ]);
    const m = lookup(table, 'GET', '/v1/orgs/org_1/accounts');
    assert.deepEqual(m?.alternatives, [['a:read', 'b:write'], ['admin']]);
    assert.equal(m?.singleScopes, undefined, 'an alternative of two scopes leaves the fast path');
    assert.equal(m?.scopeText, 'a:read b:write admin');
    assert.equal(m?.mtls, 'optional');
    assert.equal(m?.dpop, 'accepted');
    assert.equal(m?.ownerParam, 'org');
    assert.equal(m?.ownerIndex, 2);
  });

  test('ok/ownerParam null is no owner parameter', () => {
    const table = compileRouteTable([op({ ownerParam: null })]);
    assert.equal(lookup(table, 'GET', '/v1/orgs/o/accounts')?.ownerIndex, -1);
  });

  test('ok/a public operation has no alternatives (scopes sent with it are not enforced)', () => {
    const table = compileRouteTable([op({ auth: 'public', mtls: 'optional', scopes: [] })]);
    const m = lookup(table, 'GET', '/v1/orgs/x/accounts');
    assert.equal(m?.auth, 'public');
    assert.deepEqual(m?.alternatives, []);
    assert.equal(m?.scopeText, '');
  });

  test('ok/HEAD takes GET’s policy', () => {
    const table = compileRouteTable([op({ auth: 'public', mtls: 'optional', scopes: [] })]);
    assert.equal(lookup(table, 'HEAD', '/v1/orgs/x/accounts')?.auth, 'public');
    assert.equal(lookup(table, 'HEAD', '/v1/orgs/x/accounts')?.mtls, 'optional');
  });

  test('ok/rows of one operation with one policy merge their alternatives; duplicates once', () => {
    const table = compileRouteTable([
      op({ scopes: [['x']] }),
      op({ pathPattern: '/v1/orgs/{id}/accounts', scopes: [['y', 'z'], ['x']] }),
    ]);
    assert.deepEqual(lookup(table, 'GET', '/v1/orgs/o/accounts')?.alternatives, [['x'], ['y', 'z']]);
  });

  test('ok/a legacy row and an operation of the legacy policy merge', () => {
    const table = compileRouteTable([
      { method: 'GET', pathPattern: '/a', scope: 'one' },
      op({ pathPattern: '/a', scopes: [['two']] }),
    ]);
    assert.deepEqual(lookup(table, 'GET', '/a')?.singleScopes, ['one', 'two']);
  });

  const conflicts: Array<[string, CatalogRoute[]]> = [
    ['fail/same operation, other auth', [op(), op({ auth: 'public', scopes: [] })]],
    ['fail/same operation, other mtls', [op(), op({ mtls: 'optional' })]],
    ['fail/same operation, other dpop', [op(), op({ dpop: 'accepted' })]],
    ['fail/same operation, owner guard on one row only', [op(), op({ ownerParam: 'org' })]],
    [
      'fail/same shape, other param name, other policy',
      [op(), op({ pathPattern: '/v1/orgs/{id}/accounts', mtls: 'optional' })],
    ],
    [
      'fail/a legacy row and an operation of another policy',
      [{ method: 'GET', pathPattern: '/v1/orgs/{org}/accounts', scope: 's' }, op({ mtls: 'optional' })],
    ],
  ];
  for (const [name, routes] of conflicts) {
    test(name, () => assert.throws(() => compileRouteTable(routes), /another policy/));
  }

  test('ok/another method of the same path may have another policy', () => {
    const table = compileRouteTable([op(), op({ method: 'POST', mtls: 'optional' })]);
    assert.equal(lookup(table, 'POST', '/v1/orgs/o/accounts')?.mtls, 'optional');
    assert.equal(lookup(table, 'GET', '/v1/orgs/o/accounts')?.mtls, 'required');
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['fail/auth not token or public', op({ auth: 'none' }), /auth/],
    ['fail/mtls missing', op({ mtls: undefined }), /mtls/],
    ['fail/dpop not refused or accepted', op({ dpop: 'yes' }), /dpop/],
    ['fail/scopes not a list', op({ scopes: 'accounts:read' }), /scopes/],
    ['fail/an alternative not a list', op({ scopes: ['accounts:read'] }), /alternative/],
    ['fail/an empty alternative', op({ scopes: [[]] }), /alternative/],
    ['fail/a scope not a string', op({ scopes: [[42]] }), /scope token/],
    ['fail/a scope with a space', op({ scopes: [['a b']] }), /scope token/],
    ['fail/a token operation without alternatives', op({ scopes: [] }), /at least one/],
    ['fail/both scope and scopes', op({ scope: 'x' }), /either/],
    ['fail/ownerParam not in the pattern', op({ ownerParam: 'id' }), /ownerParam/],
    ['fail/ownerParam naming a literal', op({ ownerParam: 'orgs' }), /ownerParam/],
    [
      'fail/ownerParam naming a param twice in the pattern',
      op({ pathPattern: '/{org}/x/{org}', ownerParam: 'org' }),
      /exactly one/,
    ],
    ['fail/ownerParam not a string', op({ ownerParam: 2 }), /ownerParam/],
    [
      'fail/ownerParam on a public operation (no caller to compare)',
      op({ auth: 'public', scopes: [], ownerParam: 'org' }),
      /needs auth token/,
    ],
    ['fail/a row that is not an object', 'GET /a', /object/],
    ['fail/a legacy row with a non-string scope', { method: 'GET', pathPattern: '/a', scope: 1 }, /scope/],
    ['fail/pattern not a string', op({ pathPattern: 7 }), /path pattern/],
  ];
  for (const [name, route, message] of invalid) {
    test(name, () => assert.throws(() => compileRouteTable([route as CatalogRoute]), message));
  }

  test('fail/not a list', () => {
    assert.throws(() => compileRouteTable({} as unknown as CatalogRoute[]), /list/);
  });
});

describe('request target', () => {
  test('ok/split into path, query and raw segments', () => {
    assert.deepEqual(parseRequestTarget('/v1/accounts/acc%201?limit=5&x=%2F'), {
      path: '/v1/accounts/acc%201',
      query: '?limit=5&x=%2F',
      segments: ['v1', 'accounts', 'acc%201'],
    });
    assert.deepEqual(parseRequestTarget('/'), { path: '/', query: '', segments: [] });
  });

  const refused: Array<[string, string | undefined]> = [
    ['fail/dot-dot segment', '/v1/accounts/../payments'],
    ['fail/dot segment', '/v1/./accounts'],
    ['fail/trailing dot-dot', '/v1/accounts/..'],
    ['fail/encoded dot-dot', '/v1/accounts/%2e%2e/payments'],
    ['fail/mixed encoded dot-dot', '/v1/accounts/.%2E/payments'],
    ['fail/encoded slash', '/v1/accounts%2F..%2Fpayments'],
    ['fail/encoded slash, lower case', '/v1/accounts%2fx'],
    ['fail/encoded backslash', '/v1/accounts%5C..%5Cpayments'],
    ['fail/backslash', '/v1/accounts\\..\\payments'],
    ['fail/encoded NUL', '/v1/accounts/a%00'],
    ['fail/bad percent-encoding', '/v1/accounts/%zz'],
    ['fail/truncated percent-encoding', '/v1/accounts/%2'],
    ['fail/invalid UTF-8 in percent-encoding', '/v1/accounts/%C0%AF'],
    ['fail/absolute-form target', 'http://upstream/v1/accounts'],
    ['fail/asterisk-form target', '*'],
    ['fail/empty target', undefined],
    ['fail/raw space', '/v1/accounts/a b'],
    ['fail/non-ASCII', '/v1/accounts/é'],
    ['fail/fragment', '/v1/accounts#x'],
    ['fail/too long', `/${'a'.repeat(5000)}`],
  ];
  for (const [name, url] of refused) {
    test(name, () => {
      assert.throws(
        () => parseRequestTarget(url),
        (err: unknown) => err instanceof GatewayError && err.reason === 'invalid_path' && err.status === 400,
      );
    });
  }
});
