import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { RateLimitStore } from '../../src/shared/rate-limit/index.ts';

/**
 * What every RateLimitStore must do. `make` returns two handles on the same counters (two nodes for the
 * shared implementations, the same object twice for the in-process one).
 */
export function rateLimitContract(
  name: string,
  make: () => Promise<{ a: RateLimitStore; b: RateLimitStore; close(): Promise<void> }>,
  options: { skip?: string | false } = {},
): void {
  describe(`rate limit store contract: ${name}`, { skip: options.skip ?? false }, () => {
    test('ok/the quota is admitted on either handle, fail/the next take is refused with a retry time', async () => {
      const { a, b, close } = await make();
      try {
        const key = `c:${randomUUID()}`;
        const first = await a.take(key, 3, 60_000);
        assert.equal(first.allowed, true);
        assert.equal(first.remaining, 2);
        assert.equal(first.retryAfterMs, 0);
        assert.ok(first.resetMs > 0 && first.resetMs <= 60_000);
        assert.equal((await b.take(key, 3, 60_000)).remaining, 1);
        assert.equal((await a.take(key, 3, 60_000)).remaining, 0);
        const refused = await b.take(key, 3, 60_000);
        assert.equal(refused.allowed, false);
        assert.equal(refused.remaining, 0);
        // One request every 20 s after the burst: the next one is admitted in about 20 s, not a whole minute.
        assert.ok(
          refused.retryAfterMs > 15_000 && refused.retryAfterMs <= 20_000,
          String(refused.retryAfterMs),
        );
        // Another key has its own quota.
        assert.equal((await a.take(`c:${randomUUID()}`, 3, 60_000)).allowed, true);
      } finally {
        await close();
      }
    });

    test('ok/N concurrent takes on two handles never exceed the quota', async () => {
      const { a, b, close } = await make();
      try {
        const key = `c:${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take(key, 10, 3_600_000)),
        );
        assert.equal(results.filter((r) => r.allowed).length, 10);
        // Each node reads its own clock: `remaining` is approximate under concurrency, never above the quota.
        for (const r of results) assert.ok(r.allowed ? r.remaining <= 9 : r.remaining === 0);
        assert.equal((await a.take(key, 10, 3_600_000)).allowed, false);
      } finally {
        await close();
      }
    });

    test('ok/the window refills: a refused key is admitted again later', async () => {
      const { a, close } = await make();
      try {
        const key = `c:${randomUUID()}`;
        assert.equal((await a.take(key, 2, 1000)).allowed, true);
        assert.equal((await a.take(key, 2, 1000)).allowed, true);
        const refused = await a.take(key, 2, 1000);
        assert.equal(refused.allowed, false);
        await new Promise((r) => setTimeout(r, refused.retryAfterMs + 50));
        assert.equal((await a.take(key, 2, 1000)).allowed, true);
      } finally {
        await close();
      }
    });

    test('fail/invalid arguments are rejected, never counted', async () => {
      const { a, close } = await make();
      try {
        await assert.rejects(a.take('', 1, 1000), TypeError);
        await assert.rejects(a.take('k', 0, 1000), TypeError);
        await assert.rejects(a.take('k', 1.5, 1000), TypeError);
        await assert.rejects(a.take('k', 1, 0), TypeError);
      } finally {
        await close();
      }
    });
  });
}
