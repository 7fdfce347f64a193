import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryTrustChainCache } from '../../src/federation/index.ts';
import { runTrustChainCacheContract } from './contracts/trust-chain-cache.contract.ts';

runTrustChainCacheContract({ name: 'memory', create: () => createMemoryTrustChainCache() });
runTrustChainCacheContract({
  name: 'memory, 2 entries',
  create: () => createMemoryTrustChainCache({ maxEntries: 2 }),
});

describe('createMemoryTrustChainCache', () => {
  it('ok/an expired entry is dropped when read, so an earlier clock does not revive it', () => {
    const cache = createMemoryTrustChainCache();
    cache.set('a', 1, 100);
    assert.equal(cache.get('a', 100), undefined);
    assert.equal(cache.get('a', 50), undefined);
  });

  it('ok/the oldest entry goes when full', () => {
    const cache = createMemoryTrustChainCache({ maxEntries: 2 });
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    cache.set('c', 3, 100);
    assert.equal(cache.get('a', 0), undefined);
    assert.equal(cache.get('b', 0), 2);
    assert.equal(cache.get('c', 0), 3);
  });

  const invalid: Array<[string, number]> = [
    ['zero', 0],
    ['negative', -1],
    ['fractional', 1.5],
  ];
  for (const [label, maxEntries] of invalid) {
    it(`fail/maxEntries ${label} is refused`, () => {
      assert.throws(() => createMemoryTrustChainCache({ maxEntries }), /maxEntries/);
    });
  }
});
