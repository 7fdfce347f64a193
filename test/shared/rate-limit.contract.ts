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

    test('ok/a multi-take counts every limit when every one admits, in the order given', async () => {
      const { a, b, close } = await make();
      try {
        const second = `c:${randomUUID()}`;
        const day = `c:${randomUUID()}`;
        const first = await a.takeAll([
          { key: second, quota: 2, windowMs: 1000 },
          { key: day, quota: 100, windowMs: 86_400_000 },
        ]);
        assert.deepEqual(
          first.map((t) => [t.allowed, t.remaining]),
          [
            [true, 1],
            [true, 99],
          ],
        );
        // The other node sees both counted (order of the request, not of the keys).
        const again = await b.takeAll([
          { key: day, quota: 100, windowMs: 86_400_000 },
          { key: second, quota: 2, windowMs: 1000 },
        ]);
        assert.deepEqual(
          again.map((t) => [t.allowed, t.remaining]),
          [
            [true, 98],
            [true, 0],
          ],
        );
      } finally {
        await close();
      }
    });

    test('fail/a multi-take one limit refuses counts none: the other limits keep the request', async () => {
      const { a, b, close } = await make();
      try {
        const second = `c:${randomUUID()}`;
        const day = `c:${randomUUID()}`;
        const fresh = `c:${randomUUID()}`;
        const limits = [
          { key: second, quota: 1, windowMs: 60_000 },
          { key: day, quota: 100, windowMs: 86_400_000 },
          { key: fresh, quota: 5, windowMs: 60_000 },
        ];
        assert.equal((await a.take(second, 1, 60_000)).allowed, true);
        for (const store of [a, b, a]) {
          const [bySecond, byDay, byFresh] = await store.takeAll(limits);
          assert.equal(bySecond?.allowed, false);
          assert.ok((bySecond?.retryAfterMs ?? 0) > 50_000, String(bySecond?.retryAfterMs));
          // The limits with room say what is left, uncounted.
          assert.deepEqual([byDay?.allowed, byDay?.remaining, byDay?.retryAfterMs], [true, 100, 0]);
          assert.deepEqual([byFresh?.allowed, byFresh?.remaining], [true, 5]);
        }
        // Nothing of the three refused requests was counted, on either node.
        assert.equal((await b.take(day, 100, 86_400_000)).remaining, 99);
        assert.equal((await a.take(fresh, 5, 60_000)).remaining, 4);
      } finally {
        await close();
      }
    });

    test('ok/concurrent multi-takes on two handles: the tight limit admits its quota, the others count only those', async () => {
      const { a, b, close } = await make();
      try {
        const tight = `c:${randomUUID()}`;
        const wide = `c:${randomUUID()}`;
        const other = `c:${randomUUID()}`;
        const T = { key: tight, quota: 10, windowMs: 3_600_000 };
        const W = { key: wide, quota: 1000, windowMs: 3_600_000 };
        const O = { key: other, quota: 1000, windowMs: 3_600_000 };
        // Both key orders, and takes that share only the wide key: locks are taken without deadlock.
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => {
            const store = i % 2 ? a : b;
            if (i % 4 === 3) return store.takeAll([O, W]);
            return store.takeAll(i % 3 ? [T, W] : [W, T]);
          }),
        );
        const withTight = results.filter((_, i) => i % 4 !== 3);
        const admittedWithTight = withTight.filter((r) => r.every((t) => t.allowed)).length;
        assert.equal(admittedWithTight, 10);
        for (const r of results.filter((_, i) => i % 4 === 3)) assert.ok(r.every((t) => t.allowed));
        // The wide key counted the 10 admitted with the tight one and the 10 others, nothing of the 20 refused.
        assert.equal((await a.take(wide, 1000, 3_600_000)).remaining, 1000 - 21);
        assert.equal((await b.take(other, 1000, 3_600_000)).remaining, 1000 - 11);
        assert.equal((await b.takeAll([T, W]))[0]?.allowed, false);
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
        const key = `c:${randomUUID()}`;
        await assert.rejects(a.takeAll([]), TypeError);
        await assert.rejects(
          a.takeAll([
            { key, quota: 1, windowMs: 1000 },
            { key, quota: 2, windowMs: 1000 },
          ]),
          TypeError,
        );
        await assert.rejects(
          a.takeAll([
            { key, quota: 1, windowMs: 1000 },
            { key: `${key}:2`, quota: 0, windowMs: 1000 },
          ]),
          TypeError,
        );
        await assert.rejects(
          a.takeAll(Array.from({ length: 17 }, (_, i) => ({ key: `${key}:${i}`, quota: 1, windowMs: 1000 }))),
          TypeError,
        );
        // None of the rejected takes counted the valid key.
        assert.equal((await a.take(key, 1, 1000)).allowed, true);
      } finally {
        await close();
      }
    });
  });
}
