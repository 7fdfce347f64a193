import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryTrustChainCache } from '../../src/federation/trust-chain/index.ts';
import {
  checkNamingConstraints,
  matchesNameConstraint,
} from '../../src/federation/trust-chain/naming-constraints.ts';

describe('naming constraints (§6.2.2, RFC 5280 §4.2.1.10)', () => {
  const table: Array<[host: string, constraint: string, matches: boolean]> = [
    ['host.example.com', 'host.example.com', true],
    ['HOST.Example.com', 'host.example.COM', true],
    ['other.example.com', 'host.example.com', false],
    ['host.example.com', '.example.com', true],
    ['my.host.example.com', '.example.com', true],
    ['example.com', '.example.com', false],
    ['badexample.com', '.example.com', false],
    ['example.com', 'example.com', true],
    ['sub.example.com', 'example.com', false],
    ['127.0.0.1', '127.0.0.1', true],
  ];
  for (const [host, constraint, matches] of table) {
    it(`${matches ? 'ok' : 'fail'}/${host} ${matches ? 'matches' : 'does not match'} ${constraint}`, () => {
      assert.equal(matchesNameConstraint(host, constraint), matches);
    });
  }

  it('fail/excluded wins over permitted', () => {
    const constraints = { permitted: ['.example.com'], excluded: ['east.example.com'] };
    assert.equal(checkNamingConstraints('https://east.example.com/rp', constraints), 'excluded');
    assert.equal(checkNamingConstraints('https://west.example.com:8443/rp', constraints), 'ok');
    assert.equal(checkNamingConstraints('https://example.org', constraints), 'not_permitted');
  });

  it('ok/no permitted list permits everything not excluded', () => {
    assert.equal(checkNamingConstraints('https://any.example.net', { excluded: ['.example.com'] }), 'ok');
  });
});

describe('createMemoryTrustChainCache', () => {
  it('ok/an entry lives until its expiry, by the caller’s clock', () => {
    const cache = createMemoryTrustChainCache();
    cache.set('a', 1, 100);
    assert.equal(cache.get('a', 99), 1);
    assert.equal(cache.get('a', 100), undefined);
    assert.equal(cache.get('a', 50), undefined, 'an expired entry is gone');
  });

  it('ok/the oldest entry goes when full', () => {
    const cache = createMemoryTrustChainCache({ maxEntries: 2 });
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    cache.set('c', 3, 100);
    assert.equal(cache.get('a', 0), undefined);
    assert.equal(cache.get('c', 0), 3);
    cache.delete('c');
    assert.equal(cache.get('c', 0), undefined);
  });

  it('fail/maxEntries must be positive', () => {
    assert.throws(() => createMemoryTrustChainCache({ maxEntries: 0 }), /maxEntries/);
  });
});
