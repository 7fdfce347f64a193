import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseList, serializeList } from 'structured-headers';
import {
  createMemoryRateLimitStore,
  rateLimitHeaders,
  rateLimitPolicyProblem,
  rateLimitRulesProblem,
} from '../../src/shared/rate-limit/index.ts';
import { rateLimitContract } from './rate-limit.contract.ts';

rateLimitContract('memory', async () => {
  const store = createMemoryRateLimitStore();
  return { a: store, b: store, close: () => store.close() };
});

test('memory rate limit store: GCRA arithmetic on a fake clock (burst, then one per interval)', async () => {
  let now = 1_000_000;
  const store = createMemoryRateLimitStore({ now: () => now });
  for (let i = 0; i < 10; i++) assert.equal((await store.take('k', 10, 1000)).allowed, true);
  const refused = await store.take('k', 10, 1000);
  assert.equal(refused.allowed, false);
  assert.equal(Math.round(refused.retryAfterMs), 100);
  now += 99;
  assert.equal((await store.take('k', 10, 1000)).allowed, false);
  now += 1;
  const again = await store.take('k', 10, 1000);
  assert.equal(again.allowed, true);
  assert.equal(again.remaining, 0);
  now += 1000;
  assert.equal((await store.take('k', 10, 1000)).remaining, 9);
});

test('memory rate limit store: a large quota over a short window is not unlimited (no integer rounding)', async () => {
  const now = 5_000;
  const store = createMemoryRateLimitStore({ now: () => now });
  let admitted = 0;
  for (let i = 0; i < 20_010; i++) if ((await store.take('k', 20_000, 1000)).allowed) admitted++;
  assert.equal(admitted, 20_000);
});

test('memory rate limit store: bounded, the oldest key is forgotten when full', async () => {
  const store = createMemoryRateLimitStore({ maxKeys: 2 });
  await store.take('a', 1, 60_000);
  await store.take('b', 1, 60_000);
  await store.take('c', 1, 60_000);
  assert.equal((await store.take('a', 1, 60_000)).allowed, true, 'a was forgotten');
  assert.equal((await store.take('c', 1, 60_000)).allowed, false);
});

test('policy validation: ok/well-formed; fail/each malformed shape with a message naming the field', () => {
  assert.equal(
    rateLimitRulesProblem(
      [
        { quota: 10, window: 1 },
        { quota: 1000, window: 86400 },
      ],
      'limits',
    ),
    undefined,
  );
  assert.equal(rateLimitPolicyProblem({ client: [{ quota: 1, window: 1 }] }, 'rate_limit'), undefined);
  assert.equal(rateLimitPolicyProblem({}, 'rate_limit'), undefined);
  assert.match(rateLimitRulesProblem({}, 'limits') ?? '', /limits: expected an array/);
  assert.match(rateLimitRulesProblem([{ quota: 0, window: 1 }], 'limits') ?? '', /limits\[0\]\.quota/);
  assert.match(rateLimitRulesProblem([{ quota: 1, window: 1.5 }], 'limits') ?? '', /limits\[0\]\.window/);
  assert.match(rateLimitRulesProblem([{ quota: 1, window: 1, x: 1 }], 'limits') ?? '', /unknown field "x"/);
  assert.match(
    rateLimitRulesProblem(
      [
        { quota: 1, window: 1 },
        { quota: 2, window: 1 },
      ],
      'limits',
    ) ?? '',
    /same window/,
  );
  assert.match(rateLimitRulesProblem(Array(5).fill({ quota: 1, window: 1 }), 'limits') ?? '', /at most 4/);
  assert.match(rateLimitPolicyProblem({ clients: [] }, 'rate_limit') ?? '', /unknown field "clients"/);
  assert.match(rateLimitPolicyProblem([], 'rate_limit') ?? '', /expected \{ client\?, organisation\? \}/);
  assert.match(rateLimitPolicyProblem({ client: 3 }, 'rate_limit') ?? '', /rate_limit\.client/);
});

test('headers: RateLimit-Policy and RateLimit in the structured-fields form of the IETF draft', () => {
  const headers = rateLimitHeaders([
    { name: 'client-1s', quota: 10, window: 1, remaining: 9, resetMs: 100 },
    { name: 'organisation-86400s', quota: 10000, window: 86400, remaining: 9990, resetMs: 86_000.2 },
  ]);
  assert.equal(headers['ratelimit-policy'], '"client-1s";q=10;w=1, "organisation-86400s";q=10000;w=86400');
  assert.equal(headers.ratelimit, '"client-1s";r=9;t=1, "organisation-86400s";r=9990;t=87');
  // What structured-headers itself makes of it, both ways.
  const parsed = parseList(headers.ratelimit as string);
  assert.equal(serializeList(parsed), headers.ratelimit);
  assert.deepEqual(
    parsed.map(([name, params]) => [name, Object.fromEntries(params)]),
    [
      ['client-1s', { r: 9, t: 1 }],
      ['organisation-86400s', { r: 9990, t: 87 }],
    ],
  );
  assert.throws(
    () => rateLimitHeaders([{ name: 'a"b', quota: 1, window: 1, remaining: 0, resetMs: 0 }]),
    TypeError,
  );
  assert.deepEqual(rateLimitHeaders([]), {});
});
