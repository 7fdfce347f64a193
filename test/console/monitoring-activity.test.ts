// Issue 15: the decision recorder writes each client's last-seen time to client_activity in one batched
// upsert (SQLite and PostgreSQL): newer sightings move last_seen_at, last_allowed_at only moves on an
// allowed decision, a decision without a client writes nothing; a failed write is retried at the next flush.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { DecisionRecord } from '../../src/gateway/index.ts';
import { startDecisionRecorder } from '../../src/platform/decision-recorder.ts';
import { createDecisionTaps } from '../../src/platform/decision-taps.ts';
import { openStorage } from '../../src/storage/index.ts';
import { capturingLogger } from '../gateway/fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const decision = (over: Partial<DecisionRecord>): DecisionRecord => ({
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

for (const target of targets) {
  describe(`decision recorder → client_activity: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/batched upsert of last-seen times; fail/a failed write is kept for the next flush', async () => {
      const storage = await openStorage(target.freshOptions());
      const taps = createDecisionTaps();
      let now = new Date('2026-12-01T10:00:00.000Z');
      const { logger, lines } = capturingLogger();
      const recorder = startDecisionRecorder({ taps, storage, clock: () => now, logger });
      const read = async () =>
        (await storage.db.selectFrom('client_activity').selectAll().orderBy('client_id').execute()).map(
          (r) => ({
            ...r,
          }),
        );
      try {
        taps.emit(decision({ client_id: 'c1', org_id: 'o1' }));
        taps.emit(decision({ client_id: 'c2', org_id: 'o2', decision: 'deny', status: 403 }));
        taps.emit(decision({ decision: 'deny', status: 401 }));
        assert.deepEqual(await read(), [], 'nothing is written on the request path');
        await recorder.flush();
        assert.deepEqual(await read(), [
          {
            client_id: 'c1',
            org_id: 'o1',
            last_seen_at: '2026-12-01T10:00:00.000Z',
            last_allowed_at: '2026-12-01T10:00:00.000Z',
          },
          { client_id: 'c2', org_id: 'o2', last_seen_at: '2026-12-01T10:00:00.000Z', last_allowed_at: null },
        ]);

        now = new Date('2026-12-01T11:00:00.000Z');
        taps.emit(decision({ client_id: 'c1', decision: 'deny', status: 403 }));
        await recorder.flush();
        const [c1] = await read();
        assert.equal(c1?.last_seen_at, '2026-12-01T11:00:00.000Z');
        assert.equal(
          c1?.last_allowed_at,
          '2026-12-01T10:00:00.000Z',
          'a refusal keeps the last allowed time',
        );
        assert.equal(c1?.org_id, 'o1', 'a decision without the organisation keeps it');

        // The table is gone for a moment: the batch stays pending, and is written once it is back.
        now = new Date('2026-12-01T12:00:00.000Z');
        taps.emit(decision({ client_id: 'c3', org_id: 'o3' }));
        await storage.db.schema.alterTable('client_activity').renameTo('client_activity_away').execute();
        await recorder.flush();
        assert.ok(lines.some((l) => l.includes('writing client activity failed')));
        await storage.db.schema.alterTable('client_activity_away').renameTo('client_activity').execute();
        await recorder.close();
        assert.deepEqual(
          (await read()).map((r) => r.client_id),
          ['c1', 'c2', 'c3'],
        );
      } finally {
        await recorder.close();
        await storage.close();
      }
    });
  });
}
