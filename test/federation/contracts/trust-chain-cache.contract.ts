import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrustChainCache } from '../../../src/federation/index.ts';

export interface TrustChainCacheContractOptions {
  /** Names the implementation in the test titles. */
  name: string;
  /** A fresh, empty cache for each test. */
  create: () => TrustChainCache | Promise<TrustChainCache>;
}

// Seconds since the epoch, far in the past: a cache that consulted the wall clock would see every entry expired.
const T = 1_000;

/** The behaviour every `TrustChainCache` owes the resolver (§10.2, §10.4: nothing is used after it expires). */
export function runTrustChainCacheContract({ name, create }: TrustChainCacheContractOptions): void {
  describe(`TrustChainCache contract: ${name}`, () => {
    test('ok/a stored value is returned before its expiry, by the caller’s clock only', async () => {
      const cache = await create();
      const value = { chain: ['a', 'b'], exp: T + 10 };
      cache.set('https://leaf.example', value, T + 10);
      assert.deepEqual(cache.get('https://leaf.example', T), value);
      assert.deepEqual(cache.get('https://leaf.example', T + 9), value);
    });

    test('fail/an entry is not returned at its expiry', async () => {
      const cache = await create();
      cache.set('k', 'v', T + 10);
      assert.equal(cache.get('k', T + 10), undefined);
    });

    test('fail/an entry is not returned after its expiry', async () => {
      const cache = await create();
      cache.set('k', 'v', T + 10);
      assert.equal(cache.get('k', T + 3_600), undefined);
    });

    test('fail/an entry stored already expired is never returned', async () => {
      const cache = await create();
      cache.set('k', 'v', T - 1);
      assert.equal(cache.get('k', T), undefined);
    });

    test('fail/an unknown key gives nothing', async () => {
      const cache = await create();
      cache.set('k', 'v', T + 10);
      assert.equal(cache.get('other', T), undefined);
    });

    test('fail/keys match exactly: no case folding, trimming or prefix match', async () => {
      const cache = await create();
      cache.set('https://leaf.example/a', 'v', T + 10);
      for (const near of [
        'https://LEAF.example/a',
        'https://leaf.example/a ',
        'https://leaf.example/',
        'https://leaf.example/ab',
      ])
        assert.equal(cache.get(near, T), undefined, near);
    });

    test('ok/set replaces both the value and the expiry', async () => {
      const cache = await create();
      cache.set('k', 'first', T + 100);
      cache.set('k', 'second', T + 10);
      assert.equal(cache.get('k', T + 5), 'second');
      assert.equal(cache.get('k', T + 50), undefined, 'the shorter, newer expiry applies');
    });

    test('ok/delete removes that key and no other', async () => {
      const cache = await create();
      cache.set('a', 1, T + 10);
      cache.set('b', 2, T + 10);
      cache.delete('a');
      assert.equal(cache.get('a', T), undefined);
      assert.equal(cache.get('b', T), 2);
      cache.delete('never-stored');
    });

    test('ok/entries expire independently', async () => {
      const cache = await create();
      cache.set('short', 's', T + 10);
      cache.set('long', 'l', T + 100);
      assert.equal(cache.get('short', T + 50), undefined);
      assert.equal(cache.get('long', T + 50), 'l');
    });
  });
}
