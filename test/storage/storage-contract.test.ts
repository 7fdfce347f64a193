import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { recordAuditEvent, verifyAuditChain } from '../../src/audit/index.ts';
import { CHANGE_KINDS, type Change, openStorage, publishChange } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const execFileAsync = promisify(execFile);
const WRITER = fileURLToPath(new URL('../support/journal-writer.ts', import.meta.url));
const NOW = new Date('2026-01-02T03:04:05.000Z');

function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting for condition'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

for (const target of targets) {
  describe(`storage contract: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/migrations apply on a fresh database and are idempotent on reopen', async () => {
      const options = target.freshOptions();
      const first = await openStorage(options);
      await first.close();
      const second = await openStorage(options);
      const rows = await second.db.selectFrom('organisations').selectAll().execute();
      assert.deepEqual(rows, []);
      await second.close();
    });

    test('ok/0003-federation: federation tables exist and signing keys written without rotation columns read them as null', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        const applied = await storage.db
          .selectFrom('accredit_migrations' as never)
          .select('name' as never)
          .execute();
        assert.ok((applied as Array<{ name: string }>).some((r) => r.name === '0003-federation'));
        assert.deepEqual(await storage.db.selectFrom('federation_subordinates').selectAll().execute(), []);
        assert.deepEqual(await storage.db.selectFrom('federation_trust_marks').selectAll().execute(), []);
        // A key row as init writes it (no retired_at/revoked_at/revocation_reason) keeps working.
        await storage.db
          .insertInto('signing_keys')
          .values({
            kid: 'k1',
            purpose: 'federation',
            alg: 'ES256',
            public_jwk: '{}',
            private_key_pem: 'x',
            status: 'active',
            created_at: NOW.toISOString(),
          })
          .execute();
        const row = await storage.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
        assert.equal(row.retired_at, null);
        assert.equal(row.revoked_at, null);
        assert.equal(row.revocation_reason, null);
        // Trust mark times are epoch seconds beyond 2^31 on both engines.
        await storage.db
          .insertInto('federation_trust_marks')
          .values({
            id: 't1',
            trust_mark_type: 'https://ta.example/tm',
            sub: 'https://rp.example',
            iat: 4_102_444_800,
            exp: 4_102_448_400,
            status: 'active',
            revoked_at: null,
            created_at: NOW.toISOString(),
          })
          .execute();
        const mark = await storage.db
          .selectFrom('federation_trust_marks')
          .selectAll()
          .executeTakeFirstOrThrow();
        assert.equal(Number(mark.iat), 4_102_444_800);
        assert.equal(Number(mark.exp), 4_102_448_400);
      } finally {
        await storage.close();
      }
    });

    test('ok/a committed change reaches this process before transaction() returns', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        await storage.feed.start();
        const seen: Change[] = [];
        storage.feed.subscribe((c) => seen.push(c));
        await storage.transaction(async (tx) => {
          await publishChange(
            tx,
            { kind: CHANGE_KINDS.orgStatus, entityId: 'org-1', payload: { status: 'suspended' } },
            NOW,
          );
        });
        assert.equal(seen.length, 1);
        assert.equal(seen[0]?.kind, 'org.status');
        assert.deepEqual(seen[0]?.payload, { status: 'suspended' });
        assert.equal(seen[0]?.at, NOW.toISOString());
      } finally {
        await storage.close();
      }
    });

    test('fail/a rolled-back transaction publishes no change and writes no audit record', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        await storage.feed.start();
        const seen: Change[] = [];
        storage.feed.subscribe((c) => seen.push(c));
        await assert.rejects(
          storage.transaction(async (tx) => {
            await recordAuditEvent(
              tx,
              { actor: 't', action: 'org.suspend', targetType: 'org', targetId: 'o' },
              NOW,
            );
            await publishChange(tx, { kind: CHANGE_KINDS.orgStatus, entityId: 'o', payload: {} }, NOW);
            throw new Error('crash mid-way');
          }),
          /crash mid-way/,
        );
        await storage.feed.sync();
        assert.equal(seen.length, 0);
        assert.equal((await storage.db.selectFrom('audit_log').selectAll().execute()).length, 0);
        assert.equal(await storage.feed.currentSeq(), 0);
      } finally {
        await storage.close();
      }
    });

    test('ok/another process learns changes in order without a restart', async () => {
      const options = target.freshOptions();
      const writer = await openStorage(options);
      const reader = await openStorage(options);
      try {
        await reader.feed.start();
        const seen: Change[] = [];
        reader.feed.subscribe((c) => seen.push(c));
        for (const status of ['suspended', 'active', 'suspended']) {
          await writer.transaction((tx) =>
            publishChange(
              tx,
              { kind: CHANGE_KINDS.appStatus, entityId: 'client-1', payload: { status } },
              NOW,
            ),
          );
        }
        await waitFor(() => seen.length === 3);
        assert.deepEqual(
          seen.map((c) => c.payload.status),
          ['suspended', 'active', 'suspended'],
        );
        assert.ok(seen[0]!.seq < seen[1]!.seq && seen[1]!.seq < seen[2]!.seq);
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    test('ok/start(fromSeq) replays what happened after a snapshot', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        await storage.transaction((tx) =>
          publishChange(tx, { kind: CHANGE_KINDS.certRevoked, entityId: 'a', payload: {} }, NOW),
        );
        const snapshot = await storage.feed.currentSeq();
        await storage.transaction((tx) =>
          publishChange(tx, { kind: CHANGE_KINDS.certRevoked, entityId: 'b', payload: {} }, NOW),
        );
        const seen: string[] = [];
        storage.feed.subscribe((c) => seen.push(c.entityId));
        await storage.feed.start(snapshot);
        await storage.feed.sync();
        assert.deepEqual(seen, ['b']);
      } finally {
        await storage.close();
      }
    });

    test('ok/audit log is hash-chained and verifies; fail/an edited entry breaks the chain', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        for (const action of ['org.create', 'app.create', 'cert.issue']) {
          await storage.transaction((tx) =>
            recordAuditEvent(tx, { actor: 'operator:test', action, targetType: 'x', targetId: action }, NOW),
          );
        }
        assert.deepEqual(await verifyAuditChain(storage.db), { ok: true, entries: 3 });
        const second = await storage.db
          .selectFrom('audit_log')
          .select('seq')
          .orderBy('seq')
          .offset(1)
          .limit(1)
          .executeTakeFirstOrThrow();
        await storage.db
          .updateTable('audit_log')
          .set({ actor: 'someone-else' })
          .where('seq', '=', second.seq)
          .execute();
        const result = await verifyAuditChain(storage.db);
        assert.equal(result.ok, false);
        assert.equal(result.brokenAt, Number(second.seq));
      } finally {
        await storage.close();
      }
    });

    test('ok/concurrent writer processes keep one unbroken chain and a gap-free feed', async () => {
      const options = target.freshOptions();
      const reader = await openStorage(options);
      try {
        await reader.feed.start();
        const seqs: number[] = [];
        reader.feed.subscribe((c) => seqs.push(c.seq));
        const writers = ['w1', 'w2', 'w3'].map((prefix) =>
          execFileAsync(process.execPath, [WRITER, JSON.stringify(options), prefix, '10']),
        );
        await Promise.all(writers);
        await waitFor(() => seqs.length === 30);
        assert.deepEqual(await verifyAuditChain(reader.db), { ok: true, entries: 30 });
        assert.deepEqual(
          seqs,
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
      } finally {
        await reader.close();
      }
    });
  });
}
