import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ReplayCache } from '../../src/shared/replay-cache/index.ts';

/**
 * What every ReplayCache must do. `make` returns two handles on the same cache (two nodes for the shared
 * implementations, the same object twice for the in-process one) and a way to move time.
 */
export function replayCacheContract(
  name: string,
  make: () => Promise<{ a: ReplayCache; b: ReplayCache; close(): Promise<void> }>,
  options: { skip?: string | false } = {},
): void {
  describe(`replay cache contract: ${name}`, { skip: options.skip ?? false }, () => {
    test('ok/a new key is claimed once; fail/the same key again is a replay, on either handle', async () => {
      const { a, b, close } = await make();
      try {
        const key = `jti:${randomUUID()}`;
        const exp = Date.now() + 60_000;
        assert.equal(await a.claim(key, exp), true);
        assert.equal(await a.claim(key, exp), false);
        assert.equal(await b.claim(key, exp), false);
        assert.equal(await b.claim(`jti:${randomUUID()}`, exp), true);
      } finally {
        await close();
      }
    });

    test('ok/concurrent claims of one key: exactly one wins', async () => {
      const { a, b, close } = await make();
      try {
        const key = `jti:${randomUUID()}`;
        const exp = Date.now() + 60_000;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim(key, exp)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      } finally {
        await close();
      }
    });

    test('ok/an expired key may be claimed again', async () => {
      const { a, close } = await make();
      try {
        const key = `jti:${randomUUID()}`;
        assert.equal(await a.claim(key, Date.now() + 300), true);
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal(await a.claim(key, Date.now() + 60_000), true);
      } finally {
        await close();
      }
    });
  });
}
