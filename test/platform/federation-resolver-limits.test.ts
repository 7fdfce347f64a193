import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ResolveOptions, ResolveResult, TrustChainResolver } from '../../src/federation/index.ts';
import { limitResolutions } from '../../src/platform/federation-resolver.ts';

const OK = { ok: false, findings: [] } as unknown as ResolveResult;

/** A resolver whose resolutions finish only when the test says so, recording what it was asked. */
function gatedResolver() {
  const calls: Array<{ entityId: string; opts: ResolveOptions | undefined }> = [];
  const gates: Array<() => void> = [];
  const inner: TrustChainResolver = {
    resolve(entityId, opts) {
      calls.push({ entityId, opts });
      return new Promise((resolve) => gates.push(() => resolve(OK)));
    },
    validateChain() {
      return new Promise((resolve) => gates.push(() => resolve(OK)));
    },
  };
  return { inner, calls, release: () => gates.shift()?.(), pending: () => gates.length };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('limits on federation resolutions triggered from outside', () => {
  test('ok/at most `concurrent` run at once; the queue drains in order', async () => {
    const g = gatedResolver();
    const limited = limitResolutions(
      g.inner,
      { concurrent: 2, queued: 10, forcedRefreshIntervalMs: 0, deadlineMs: 60_000 },
      () => 0,
    );
    const results = [1, 2, 3, 4].map((n) => limited.resolve(`https://e${n}.example`));
    await tick();
    assert.equal(g.pending(), 2, 'two in flight');
    g.release();
    await tick();
    assert.equal(g.pending(), 2, 'the third started when one finished');
    g.release();
    g.release();
    await tick();
    g.release();
    await Promise.all(results);
    assert.deepEqual(
      g.calls.map((c) => c.entityId),
      ['https://e1.example', 'https://e2.example', 'https://e3.example', 'https://e4.example'],
    );
  });

  test('fail/beyond the queue a resolution is refused at once with a finding, not an exception', async () => {
    const g = gatedResolver();
    const limited = limitResolutions(
      g.inner,
      { concurrent: 1, queued: 1, forcedRefreshIntervalMs: 0, deadlineMs: 60_000 },
      () => 0,
    );
    const first = limited.resolve('https://a.example');
    const second = limited.resolve('https://b.example');
    const third = await limited.resolve('https://c.example');
    assert.equal(third.ok, false);
    assert.equal(third.findings[0]?.code, 'temporarily_unavailable');
    assert.match(third.findings[0]?.step ?? '', /^§/);
    const refusedChain = await limited.validateChain(['x', 'y']);
    assert.equal(refusedChain.ok, false);
    g.release();
    await tick();
    g.release();
    await Promise.all([first, second]);
  });

  test('fail/a second forced refresh of the same entity within the interval is refused, not served stale', async () => {
    const g = gatedResolver();
    let now = 0;
    const limited = limitResolutions(
      g.inner,
      { concurrent: 4, queued: 4, forcedRefreshIntervalMs: 10_000, deadlineMs: 60_000 },
      () => now,
    );
    const run = async (entityId: string, forceRefresh = true) => {
      const r = limited.resolve(entityId, { forceRefresh });
      await tick();
      g.release();
      return r;
    };
    await run('https://a.example');
    const again = await run('https://a.example');
    assert.equal(again.ok, false);
    assert.equal(again.findings[0]?.code, 'temporarily_unavailable');
    await run('https://a.example', false);
    await run('https://b.example');
    now += 10_000;
    await run('https://a.example');
    assert.deepEqual(
      g.calls.map((c) => [c.entityId, c.opts?.forceRefresh]),
      [
        ['https://a.example', true],
        ['https://a.example', false],
        ['https://b.example', true],
        ['https://a.example', true],
      ],
    );
  });

  test('fail/a resolution that outlives the deadline answers in time with a finding and keeps its slot', async () => {
    const g = gatedResolver();
    const limited = limitResolutions(
      g.inner,
      { concurrent: 1, queued: 1, forcedRefreshIntervalMs: 0, deadlineMs: 30 },
      () => 0,
    );
    const late = await limited.resolve('https://slow.example');
    assert.equal(late.ok, false);
    assert.match(late.findings[0]?.message ?? '', /in time/);
    // The slow work still runs: the next resolution waits for it rather than adding to the load.
    const next = limited.resolve('https://next.example');
    await tick();
    assert.equal(g.calls.length, 1);
    g.release();
    await tick();
    g.release();
    await next;
    assert.equal(g.calls.length, 2);
  });
});
