import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRenderCache } from '../../../src/platform/partner-catalog/partner-catalog-cache.ts';
import { prefersJson } from '../../../src/platform/partner-catalog/prefers-json.ts';
import { noneMatch } from '../../../src/platform/partner-catalog/register-partner-catalog-routes.ts';

/** A load whose every call is counted and answered when the test says so. */
function controlledLoad() {
  const calls: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];
  return {
    calls,
    load: () => new Promise<string>((resolve, reject) => calls.push({ resolve, reject })),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createRenderCache', () => {
  test('ok/one load for any number of requests until the catalog changes', async () => {
    let loads = 0;
    const cache = createRenderCache({ load: async () => `v${++loads}`, maxAgeMs: 60_000 });
    const first = await Promise.all([cache.current(), cache.current(), cache.current()]);
    assert.deepEqual(first, ['v1', 'v1', 'v1']);
    assert.equal(await cache.current(), 'v1');
    assert.equal(loads, 1);
    cache.invalidate();
    assert.equal(await cache.current(), 'v2');
    assert.equal(await cache.current(), 'v2');
    assert.equal(loads, 2);
  });

  test('fail/a load that started before a change is served to who waited but not kept', async () => {
    const { calls, load } = controlledLoad();
    const cache = createRenderCache({ load, maxAgeMs: 60_000 });
    const early = cache.current();
    cache.invalidate();
    const late = cache.current();
    assert.equal(calls.length, 2, 'the request after the change does not join the older load');
    calls[0]?.resolve('before');
    calls[1]?.resolve('after');
    assert.equal(await early, 'before');
    assert.equal(await late, 'after');
    assert.equal(await cache.current(), 'after');
    assert.equal(calls.length, 2);
  });

  test('fail/a failed load is not kept: the next request tries again', async () => {
    let fail = true;
    const cache = createRenderCache({
      load: async () => {
        if (fail) throw new Error('database down');
        return 'ok';
      },
      maxAgeMs: 60_000,
    });
    await assert.rejects(cache.current(), /database down/);
    fail = false;
    assert.equal(await cache.current(), 'ok');
  });

  test('ok/an entry older than maxAge is served while it is re-read in the background', async () => {
    let now = 0;
    let loads = 0;
    const cache = createRenderCache({ load: async () => `v${++loads}`, maxAgeMs: 1000, now: () => now });
    assert.equal(await cache.current(), 'v1');
    now = 500;
    assert.equal(await cache.current(), 'v1');
    assert.equal(loads, 1);
    now = 1501;
    assert.equal(await cache.current(), 'v1', 'the stale entry answers at once');
    await tick();
    assert.equal(loads, 2);
    assert.equal(await cache.current(), 'v2');
  });

  test('fail/a failed background re-read keeps the entry and waits maxAge before trying again', async () => {
    let now = 0;
    let loads = 0;
    const errors: unknown[] = [];
    const cache = createRenderCache({
      load: async () => {
        loads += 1;
        if (loads > 1) throw new Error('database down');
        return 'v1';
      },
      maxAgeMs: 1000,
      now: () => now,
      onBackgroundError: (err) => errors.push(err),
    });
    await cache.current();
    now = 2000;
    assert.equal(await cache.current(), 'v1');
    await tick();
    assert.equal(errors.length, 1);
    assert.equal(await cache.current(), 'v1');
    await tick();
    assert.equal(loads, 2, 'no retry on every request');
  });
});

describe('prefersJson: GET /catalog negotiation', () => {
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', true],
    ['application/json, text/html;q=0.5', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['application/json;q=0.4, text/html', false],
    ['application/*', true],
    ['text/*;q=0.9, application/json;q=0.8', false],
    ['application/json;q=0', false],
    ['image/png', false],
    ['application/json, text/plain, */*', true],
    ['text/html, application/json', false],
    ['application/json;q=0, */*', false],
  ];
  for (const [accept, json] of cases) {
    test(`${json ? 'ok' : 'fail'}/Accept ${JSON.stringify(accept)} → ${json ? 'JSON' : 'HTML'}`, () => {
      assert.equal(prefersJson(accept), json);
    });
  }
});

describe('noneMatch: If-None-Match (RFC 9110 §13.1.2)', () => {
  const etag = '"abc-html"';
  test('ok/the same tag, weak or in a list, or *', () => {
    assert.equal(noneMatch('"abc-html"', etag), true);
    assert.equal(noneMatch('W/"abc-html"', etag), true);
    assert.equal(noneMatch('"x", "abc-html"', etag), true);
    assert.equal(noneMatch('*', etag), true);
  });
  test('fail/another tag, another representation, or no header', () => {
    assert.equal(noneMatch(undefined, etag), false);
    assert.equal(noneMatch('"abc-json"', etag), false);
    assert.equal(noneMatch('abc-html', etag), false);
    assert.equal(noneMatch('', etag), false);
  });
});
