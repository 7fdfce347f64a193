// Issue 15/16: the decision recorder on its own, on SQLite and PostgreSQL — the shared decision log (two
// recorders on one database are two platform nodes): paging and filters, live subscribers following new rows
// by id and their limit, per-minute aggregates over a moving window and across nodes, restarts, the
// lines-per-second cap and its drop counter, retention, and the go-live check's shared counts.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { DecisionRecord } from '../../src/gateway/index.ts';
import { sharedClientDecisions } from '../../src/platform/client-decisions.ts';
import {
  type DecisionRecorderOptions,
  LATENCY_BOUNDS_MS,
  quantileOf,
  type RecordedDecision,
  startDecisionRecorder,
} from '../../src/platform/decision-recorder.ts';
import { createDecisionTaps } from '../../src/platform/decision-taps.ts';
import { openStorage, type Storage, type StorageOptions } from '../../src/storage/index.ts';
import { capturingLogger } from '../gateway/fixture.ts';
import { engineTargets } from '../support/engines.ts';

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
const deny = (over: Partial<DecisionRecord> = {}) =>
  decision({ decision: 'deny', reason: 'token_missing' as DecisionRecord['reason'], status: 401, ...over });

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const targets = await engineTargets();
after(async () => {
  for (const target of targets) await target.cleanup();
});

for (const target of targets) {
  describe(`decision recorder on ${target.name} (issues 15, 16)`, { skip: target.skip }, () => {
    let now = new Date('2026-12-02T10:00:30Z');
    const clock = () => now;
    const advance = (ms: number) => {
      now = new Date(now.getTime() + ms);
    };
    const open: Array<{ close(): Promise<void> }> = [];
    after(async () => {
      for (const o of open.reverse()) await o.close();
    });

    /** A node: its own storage handle, taps and recorder (no background timers: flushes are explicit). */
    async function startNode(storageOptions: StorageOptions, over: Partial<DecisionRecorderOptions> = {}) {
      const storage: Storage = await openStorage(storageOptions);
      const taps = createDecisionTaps();
      const recorder = startDecisionRecorder({
        taps,
        storage,
        clock,
        logger: capturingLogger().logger,
        flushMs: 3_600_000,
        activityFlushMs: 3_600_000,
        pruneMs: 3_600_000,
        pollMs: 20,
        ...over,
      });
      const node = {
        storage,
        taps,
        recorder,
        async close() {
          await recorder.close();
          await storage.close();
        },
      };
      open.push(node);
      return node;
    }

    test('ok/newest first, paged with before until next_before is null', async () => {
      const { taps, recorder } = await startNode(target.freshOptions());
      for (let i = 1; i <= 5; i++) taps.emit(decision({ request_id: `r${i}` }));
      const all = await recorder.list({}, 100);
      assert.deepEqual(
        all.items.map((d) => d.request_id),
        ['r5', 'r4', 'r3', 'r2', 'r1'],
      );
      assert.equal(all.next_before, null);
      for (let i = 1; i < all.items.length; i++) {
        assert.ok((all.items[i - 1] as RecordedDecision).id > (all.items[i] as RecordedDecision).id);
      }
      const first = await recorder.list({}, 2);
      assert.deepEqual(
        first.items.map((d) => d.request_id),
        ['r5', 'r4'],
      );
      assert.equal(first.next_before, first.items[1]?.id);
      const rest = await recorder.list({}, 3, first.next_before as number);
      assert.deepEqual(
        rest.items.map((d) => d.request_id),
        ['r3', 'r2', 'r1'],
      );
      assert.equal(rest.next_before, null, 'exactly the last page: nothing older');
      assert.equal(all.items[0]?.at, now.toISOString());
      assert.equal(all.items[0]?.route, '/v1/accounts');
      assert.equal(all.items[0]?.client_id, undefined);
    });

    test('ok/filters: decision, reason, organisation, client, door (a door-less record is the gateway)', async () => {
      const { taps, recorder } = await startNode(target.freshOptions());
      taps.emit(decision({ org_id: 'o1', client_id: 'c1' }));
      taps.emit(deny());
      taps.emit(decision({ door: 'ext_authz', org_id: 'o2' }));
      const { door: _door, ...doorless } = decision({ org_id: 'o3' });
      taps.emit(doorless as DecisionRecord);
      assert.equal((await recorder.list({ decision: 'deny' }, 10)).items.length, 1);
      assert.equal((await recorder.list({ reason: 'token_missing' }, 10)).items.length, 1);
      assert.deepEqual(
        (await recorder.list({ org_id: 'o1' }, 10)).items.map((d) => d.client_id),
        ['c1'],
      );
      assert.deepEqual(
        (await recorder.list({ door: 'gateway' }, 10)).items.map((d) => d.org_id ?? null),
        ['o3', null, 'o1'],
      );
      assert.equal((await recorder.list({ door: 'ext_authz' }, 10)).items.length, 1);
      assert.equal((await recorder.list({ client_id: 'nobody' }, 10)).items.length, 0);
    });

    test('ok/two nodes: a decision through node A is in node B’s list, stats and stream', async () => {
      const options = target.freshOptions();
      const a = await startNode(options, { node: 'a' });
      const b = await startNode(options, { node: 'b' });
      const got: RecordedDecision[] = [];
      const sub = await b.recorder.subscribe({ org_id: 'shared' }, (d) => got.push(d), { onClose: () => {} });
      assert.ok(sub);
      a.taps.emit(decision({ org_id: 'other' }));
      a.taps.emit(decision({ org_id: 'shared', latency_ms: 4, request_id: 'via-a' }));
      b.taps.emit(deny({ org_id: 'shared', latency_ms: 40, request_id: 'via-b' }));
      await a.recorder.flush();
      await b.recorder.flush();
      await until(() => got.length >= 2, 'both nodes’ decisions on B’s stream');
      assert.deepEqual(
        got.map((d) => d.request_id).sort(),
        ['via-a', 'via-b'],
        'the filter let only these through',
      );

      const listed = await b.recorder.list({ org_id: 'shared' }, 10);
      assert.deepEqual(listed.items.map((d) => d.request_id).sort(), ['via-a', 'via-b']);
      const stats = await a.recorder.stats(5);
      const shared = stats.organisations.find((o) => o.org_id === 'shared');
      assert.equal(shared?.requests, 2);
      assert.equal(shared?.denials, 1);
      // Percentiles over both nodes' histogram buckets: 4 ms (≤ 5) and 40 ms (≤ 50).
      assert.equal(shared?.p50_ms, 5);
      assert.equal(shared?.p95_ms, 50);
      assert.deepEqual(shared?.denials_by_reason, { token_missing: 1 });
      assert.equal(stats.total.requests, 3);
      sub.close();
      assert.equal(b.recorder.subscribers(), 0);
    });

    test('ok/subscribers resume after an id, then follow live; fail/beyond the limit', async () => {
      const { taps, recorder } = await startNode(target.freshOptions(), { maxSubscribers: 1 });
      taps.emit(decision());
      taps.emit(deny({ request_id: 'd1' }));
      const first = (await recorder.list({}, 10)).items.at(-1) as RecordedDecision;
      const got: string[] = [];
      let closed = false;
      const sub = await recorder.subscribe({ decision: 'deny' }, (d) => got.push(d.request_id), {
        after: first.id - 1,
        onClose: () => {
          closed = true;
        },
      });
      assert.ok(sub);
      assert.deepEqual(got, ['d1'], 'replayed from the shared log');
      assert.equal(
        await recorder.subscribe({}, () => {}, { onClose: () => {} }),
        undefined,
        'the limit is reached',
      );
      taps.emit(decision());
      taps.emit(deny({ request_id: 'd2' }));
      await recorder.flush();
      await until(() => got.length >= 2, 'the live denial');
      assert.deepEqual(got, ['d1', 'd2']);
      await recorder.close();
      assert.equal(closed, true, 'close ends every subscriber');
      taps.emit(deny({ request_id: 'd3' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(got, ['d1', 'd2'], 'nothing after close');
    });

    test('ok/a stream keeps up when more than one batch arrives between two polls', async () => {
      const { taps, recorder } = await startNode(target.freshOptions(), { pollMs: 200 });
      const got: number[] = [];
      const sub = await recorder.subscribe({}, (d) => got.push(d.id), { onClose: () => {} });
      assert.ok(sub);
      for (let i = 0; i < 2500; i++) {
        if (i > 0 && i % 1000 === 0) advance(1_000);
        taps.emit(decision({ request_id: `bulk-${i}` }));
      }
      await recorder.flush();
      await until(() => got.length >= 2500, 'all 2,500 decisions on the stream');
      assert.equal(got.length, 2500);
      for (let i = 1; i < got.length; i++)
        assert.ok((got[i] as number) > (got[i - 1] as number), 'in id order');
      sub.close();
    });

    test('ok/stats: per minute and organisation; the window moves; a restart keeps the charts', async () => {
      const options = target.freshOptions();
      const first = await startNode(options);
      first.taps.emit(decision({ org_id: 'o1', latency_ms: 4 }));
      first.taps.emit(
        decision({
          org_id: 'o1',
          decision: 'deny',
          reason: 'insufficient_scope' as DecisionRecord['reason'],
          latency_ms: 40,
        }),
      );
      advance(60_000);
      first.taps.emit(decision({ org_id: 'o2', latency_ms: 2 }));
      await first.close();

      const restarted = await startNode(options);
      const stats = await restarted.recorder.stats(5);
      assert.equal(stats.total.requests, 3);
      assert.equal(stats.total.denials, 1);
      assert.equal(stats.total.series.length, 5);
      assert.deepEqual(
        stats.total.series.slice(-2).map((p) => p.requests),
        [2, 1],
      );
      assert.equal(stats.total.series[0]?.p50_ms, null, 'a minute without traffic has no latency');
      const o1 = stats.organisations.find((o) => o.org_id === 'o1');
      assert.equal(o1?.requests, 2);
      assert.equal(o1?.denials, 1);
      assert.deepEqual(o1?.denials_by_reason, { insufficient_scope: 1 });
      assert.equal(o1?.p50_ms, 5);
      assert.equal(o1?.p95_ms, 50);
      assert.equal(o1?.lines_dropped, 0);
      assert.deepEqual(stats.denials_by_reason, [{ reason: 'insufficient_scope', count: 1 }]);
      assert.equal((await restarted.recorder.stats(1)).total.requests, 1, 'only the current minute');
      advance(25 * 3_600_000);
      restarted.taps.emit(decision({ org_id: 'o3' }));
      assert.equal(
        (await restarted.recorder.stats(1440)).total.requests,
        1,
        'a day later only the new decision is in the window',
      );
    });

    test('ok/cap: at most N lines a second are kept, denials first; the rest are counted as dropped', async () => {
      const { taps, recorder } = await startNode(target.freshOptions(), { maxLinesPerSecond: 3 });
      for (let i = 1; i <= 4; i++) taps.emit(decision({ org_id: 'busy', request_id: `a${i}` }));
      taps.emit(deny({ org_id: 'busy', request_id: 'd1' }));
      taps.emit(deny({ org_id: 'busy', request_id: 'd2' }));
      // A flush in the middle of the second: what was written already counts against the cap.
      await recorder.flush();
      taps.emit(decision({ org_id: 'busy', request_id: 'a5' }));
      taps.emit(deny({ org_id: 'busy', request_id: 'd3' }));
      advance(1_000);
      taps.emit(decision({ org_id: 'busy', request_id: 'next-second' }));
      const kept = await recorder.list({ org_id: 'busy' }, 100);
      assert.deepEqual(
        kept.items.map((d) => d.request_id),
        ['next-second', 'd2', 'd1', 'a1'],
        'the oldest allowed line and both denials of the first flush; the cap was then full',
      );
      assert.equal(recorder.dropped(), 5);
      const stats = await recorder.stats(5);
      const busy = stats.organisations.find((o) => o.org_id === 'busy');
      assert.equal(busy?.requests, 9, 'dropped lines are still counted in the charts');
      assert.equal(busy?.denials, 3);
      assert.equal(busy?.lines_dropped, 5);
      assert.equal(stats.total.lines_dropped, 5);
    });

    test('ok/retention: lines older than the retention or beyond the row cap, minutes older than a day', async () => {
      const { taps, recorder, storage } = await startNode(target.freshOptions(), {
        retentionMs: 3_600_000,
        maxLines: 3,
      });
      taps.emit(decision({ request_id: 'old' }));
      await recorder.flush();
      advance(2 * 3_600_000);
      for (let i = 1; i <= 4; i++) taps.emit(decision({ request_id: `new${i}` }));
      await recorder.flush();
      await recorder.prune();
      assert.deepEqual(
        (await recorder.list({}, 10)).items.map((d) => d.request_id),
        ['new4', 'new3', 'new2'],
      );
      advance(25 * 3_600_000);
      await recorder.prune();
      assert.deepEqual((await recorder.list({}, 10)).items, [], 'all beyond the retention');
      const minutes = await storage.db.selectFrom('decision_minutes').select('minute').execute();
      assert.deepEqual(minutes, [], 'minute rows older than a day are gone');
      const reasons = await storage.db.selectFrom('decision_minute_reasons').select('minute').execute();
      assert.deepEqual(reasons, []);
    });

    test('fail/a failed write is retried at the next flush: nothing lost, nothing counted twice', async () => {
      const storage = await openStorage(target.freshOptions());
      let failures = 1;
      const flaky: Storage = {
        db: storage.db,
        engine: storage.engine,
        feed: storage.feed,
        transaction: (fn) => {
          if (failures > 0) {
            failures -= 1;
            return Promise.reject(new Error('database unavailable'));
          }
          return storage.transaction(fn);
        },
        close: () => storage.close(),
      };
      const { logger, lines } = capturingLogger();
      const taps = createDecisionTaps();
      const recorder = startDecisionRecorder({
        taps,
        storage: flaky,
        clock,
        logger,
        flushMs: 3_600_000,
        activityFlushMs: 3_600_000,
        pruneMs: 3_600_000,
      });
      open.push({
        async close() {
          await recorder.close();
          await storage.close();
        },
      });
      taps.emit(decision({ org_id: 'retry', request_id: 'first' }));
      taps.emit(deny({ org_id: 'retry', request_id: 'second' }));
      await recorder.flush();
      assert.ok(
        lines.some((l) => l.includes('writing the decision log failed')),
        'the failure is logged',
      );
      taps.emit(decision({ org_id: 'retry', request_id: 'third' }));
      const listed = await recorder.list({ org_id: 'retry' }, 10);
      assert.deepEqual(
        listed.items.map((d) => d.request_id),
        ['third', 'second', 'first'],
      );
      const stats = await recorder.stats(1);
      assert.equal(stats.organisations.find((o) => o.org_id === 'retry')?.requests, 3);
      assert.equal(recorder.dropped(), 0);
    });

    test('ok/go-live counts: one client’s decisions with one certificate in a time range, from any node', async () => {
      const options = target.freshOptions();
      const a = await startNode(options);
      const b = await startNode(options);
      const start = now.getTime();
      a.taps.emit(decision({ client_id: 'c1', cert_x5t_s256: 'x1' }));
      a.taps.emit(deny({ client_id: 'c1', cert_x5t_s256: 'x1' }));
      a.taps.emit(deny({ client_id: 'c1', cert_x5t_s256: 'other-cert' }));
      a.taps.emit(decision({ client_id: 'c2', cert_x5t_s256: 'x1' }));
      await a.recorder.flush();
      const onB = sharedClientDecisions(b.storage, () => b.recorder.flush());
      assert.deepEqual(await onB.count('c1', 'x1', start - 1000, start + 1000), { allowed: 1, denied: 1 });
      assert.deepEqual(await onB.count('c1', 'x1', start + 1000, start + 5000), { allowed: 0, denied: 0 });
      assert.deepEqual(await onB.count('c3', 'x1', start - 1000, start + 1000), { allowed: 0, denied: 0 });
    });
  });
}

test('ok/latency quantiles come from fixed buckets (upper bounds)', () => {
  const h = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
  assert.equal(quantileOf(h, 0.5), null);
  h[0] = 90; // ≤ 0.5 ms
  h[LATENCY_BOUNDS_MS.length] = 10; // above the last bound
  assert.equal(quantileOf(h, 0.5), 0.5);
  assert.equal(quantileOf(h, 0.95), LATENCY_BOUNDS_MS.at(-1));
});
