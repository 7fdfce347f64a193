import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTokenCache } from '../../src/gateway/token-cache.ts';

test('ok/served only before expiry', () => {
  const cache = createTokenCache<string>(10);
  cache.set('t', 'claims', 1000);
  assert.equal(cache.get('t', 999), 'claims');
  assert.equal(cache.get('t', 1000), undefined);
  assert.equal(cache.size, 0, 'an expired entry is dropped when met');
});

test('ok/bounded: the oldest insertion is evicted first', () => {
  const cache = createTokenCache<number>(3);
  for (let i = 0; i < 5; i++) cache.set(`t${i}`, i, 10_000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('t0', 0), undefined);
  assert.equal(cache.get('t1', 0), undefined);
  assert.equal(cache.get('t4', 0), 4);
});

test('ok/size 0 disables caching', () => {
  const cache = createTokenCache<number>(0);
  cache.set('t', 1, 10_000);
  assert.equal(cache.get('t', 0), undefined);
});
