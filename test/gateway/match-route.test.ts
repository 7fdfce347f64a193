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
      assert.equal(lookup(seed, method, url)?.scopes.join(' '), scope);
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
    assert.deepEqual(lookup(table, 'GET', '/x')?.scopes, ['one', 'two']);
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
