// Issue 15: the decision recorder on its own — ring buffer wrap-around and paging, filters, live
// subscribers and their limit, per-minute aggregates over a moving window, latency quantiles.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DecisionRecord } from '../../src/gateway/index.ts';
import {
  LATENCY_BOUNDS_MS,
  quantileOf,
  startDecisionRecorder,
} from '../../src/platform/decision-recorder.ts';
import { createDecisionTaps } from '../../src/platform/decision-taps.ts';
import type { Storage } from '../../src/storage/index.ts';
import { capturingLogger } from '../gateway/fixture.ts';

const decision = (over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  door: 'gateway',
  decision: 'allow',
  reason: 'ok' as DecisionRecord['reason'],
  status: 200,
  method: 'GET',
  route: '/v1/accounts',
  path: '/v1/accounts',
  client_id: undefined,
  org_id: undefined,
  jti: undefined,
  cert_subject: undefined,
  cert_x5t_s256: undefined,
  request_id: 'r',
  latency_ms: 1,
  ...over,
});

// No decision here names a client, so nothing is ever written: storage is never touched.
const storage = {} as Storage;

function setup(options: { capacity?: number; maxSubscribers?: number } = {}) {
  const taps = createDecisionTaps();
  let now = new Date('2026-12-02T10:00:30Z');
  const recorder = startDecisionRecorder({
    taps,
    storage,
    clock: () => now,
    logger: capturingLogger().logger,
    ...options,
  });
  return {
    taps,
    recorder,
    advance(ms: number) {
      now = new Date(now.getTime() + ms);
    },
  };
}

describe('decision recorder (issue 15)', () => {
  test('ok/the ring buffer keeps the newest `capacity` decisions, newest first, paged with before', async () => {
    const { taps, recorder } = setup({ capacity: 5 });
    for (let i = 1; i <= 8; i++) taps.emit(decision({ request_id: `r${i}` }));
    const all = recorder.list({}, 100);
    assert.deepEqual(
      all.items.map((d) => d.id),
      [8, 7, 6, 5, 4],
    );
    assert.equal(all.next_before, null);
    const first = recorder.list({}, 2);
    assert.deepEqual(
      first.items.map((d) => d.id),
      [8, 7],
    );
    assert.equal(first.next_before, 7);
    const second = recorder.list({}, 3, 7);
    assert.deepEqual(
      second.items.map((d) => d.id),
      [6, 5, 4],
    );
    assert.equal(second.next_before, null, 'nothing older is held');
    assert.deepEqual(recorder.list({}, 10, 4).items, []);
    await recorder.close();
  });

  test('ok/filters: decision, reason, organisation, client, door (a door-less record is the gateway)', async () => {
    const { taps, recorder } = setup();
    taps.emit(decision({ org_id: 'o1', client_id: undefined }));
    taps.emit(
      decision({ decision: 'deny', reason: 'token_missing' as DecisionRecord['reason'], status: 401 }),
    );
    taps.emit(decision({ door: 'ext_authz', org_id: 'o2' }));
    const { door: _door, ...doorless } = decision({ org_id: 'o3' });
    taps.emit(doorless as DecisionRecord);
    assert.equal(recorder.list({ decision: 'deny' }, 10).items.length, 1);
    assert.equal(recorder.list({ reason: 'token_missing' }, 10).items.length, 1);
    assert.deepEqual(
      recorder.list({ org_id: 'o1' }, 10).items.map((d) => d.org_id),
      ['o1'],
    );
    assert.deepEqual(
      recorder.list({ door: 'gateway' }, 10).items.map((d) => d.id),
      [4, 2, 1],
    );
    assert.equal(recorder.list({ door: 'ext_authz' }, 10).items.length, 1);
    await recorder.close();
  });

  test('ok/subscribers get matching decisions, replay after an id; fail/beyond the limit', async () => {
    const { taps, recorder } = setup({ maxSubscribers: 1 });
    taps.emit(decision());
    taps.emit(decision({ decision: 'deny', status: 403 }));
    const got: number[] = [];
    let closed = false;
    const sub = recorder.subscribe({ decision: 'deny' }, (d) => got.push(d.id), {
      after: 0,
      onClose: () => {
        closed = true;
      },
    });
    assert.ok(sub);
    assert.deepEqual(got, [2], 'replayed from the buffer');
    assert.equal(
      recorder.subscribe({}, () => {}, { onClose: () => {} }),
      undefined,
      'the limit is reached',
    );
    taps.emit(decision());
    taps.emit(decision({ decision: 'deny', status: 401 }));
    assert.deepEqual(got, [2, 4]);
    await recorder.close();
    assert.equal(closed, true, 'close ends every subscriber');
    taps.emit(decision({ decision: 'deny', status: 401 }));
    assert.deepEqual(got, [2, 4], 'nothing after close');
  });

  test('ok/stats: per minute and organisation; the window moves and old minutes leave', async () => {
    const { taps, recorder, advance } = setup();
    taps.emit(decision({ org_id: 'o1', latency_ms: 4 }));
    taps.emit(
      decision({
        org_id: 'o1',
        decision: 'deny',
        reason: 'insufficient_scope' as DecisionRecord['reason'],
        latency_ms: 40,
      }),
    );
    advance(60_000);
    taps.emit(decision({ org_id: 'o2', latency_ms: 2 }));
    const stats = recorder.stats(5);
    assert.equal(stats.total.requests, 3);
    assert.equal(stats.total.denials, 1);
    assert.equal(stats.total.series.length, 5);
    assert.deepEqual(
      stats.total.series.slice(-2).map((p) => p.requests),
      [2, 1],
    );
    const o1 = stats.organisations.find((o) => o.org_id === 'o1');
    assert.equal(o1?.requests, 2);
    assert.equal(o1?.denials, 1);
    assert.deepEqual(o1?.denials_by_reason, { insufficient_scope: 1 });
    assert.equal(o1?.p50_ms, 5);
    assert.equal(o1?.p95_ms, 50);
    assert.deepEqual(stats.denials_by_reason, [{ reason: 'insufficient_scope', count: 1 }]);
    assert.equal(recorder.stats(1).total.requests, 1, 'only the current minute');
    advance(25 * 3_600_000);
    taps.emit(decision({ org_id: 'o3' }));
    assert.equal(recorder.stats(1440).total.requests, 1, 'a day later only the new decision is left');
    await recorder.close();
  });

  test('ok/latency quantiles come from fixed buckets (upper bounds)', () => {
    const h = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
    assert.equal(quantileOf(h, 0.5), null);
    h[0] = 90; // ≤ 0.5 ms
    h[LATENCY_BOUNDS_MS.length] = 10; // above the last bound
    assert.equal(quantileOf(h, 0.5), 0.5);
    assert.equal(quantileOf(h, 0.95), LATENCY_BOUNDS_MS.at(-1));
  });
});
