import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  claimDueDeliveries,
  consumeEvents,
  createWebhookSubscription,
  enqueueDeliveries,
  getDelivery,
  listDeliveries,
  pruneDeliveries,
  queuePing,
  recordPlatformEvent,
  redeliver,
  removeWebhookSubscription,
  rotateWebhookSecret,
  settleAttempt,
  signingSecretsOf,
  updateWebhookSubscription,
} from '../../src/audit/index.ts';
import type { UrlGuard } from '../../src/shared/guarded-fetch/index.ts';
import { createGuardedSender } from '../../src/shared/guarded-fetch/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { engineTargets, openFresh } from '../support/engines.ts';

const KEK = 'test-key-encryption-key-0123456789abcdef';
const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const meta = (now = T0) => ({ actor: 'operator:test', now });
// Subscription-time address check as production does it, with a table for DNS (no network in tests).
const guard: UrlGuard = createGuardedSender({
  resolveHost: async (host) => {
    const table: Record<string, string[]> = {
      'receiver.example': ['203.0.114.10'],
      'inside.example': ['10.1.2.3'],
    };
    if (table[host]) return table[host];
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  },
});
const policy = { scheduleSeconds: [10, 60], maxAgeMs: 24 * 3600_000 };
const mid = () => 0.5;

const targets = await engineTargets();

for (const target of targets) {
  describe(`webhook subscriptions and deliveries (${target.name})`, { skip: target.skip }, () => {
    let storage: Storage;
    before(async () => {
      storage = await openFresh(target);
    });
    after(async () => {
      await storage?.close();
      await target.cleanup();
    });

    const subscribe = (input: Partial<Parameters<typeof createWebhookSubscription>[1]> = {}) =>
      storage.transaction((tx) =>
        createWebhookSubscription(
          tx,
          { url: 'https://receiver.example/hook', event_types: ['*'], scheme: 'jws', ...input },
          { ...meta(), kek: KEK, urlGuard: guard },
        ),
      );
    const event = (type: 'organisation.suspended' | 'certificate.revoked', orgId: string | null, now = T0) =>
      storage.transaction((tx) =>
        recordPlatformEvent(
          tx,
          { type, orgId, clientId: null, subject: { kind: 'organisation', id: orgId ?? 'x' }, data: {} },
          now,
        ),
      );
    const consume = () =>
      consumeEvents(
        storage,
        'webhooks',
        (tx, events) => enqueueDeliveries(tx, events, T0).then(() => {}),
        T0,
        {
          from: 'beginning',
        },
      );

    test('bad/subscriptions refused: http, loopback, private, fragment, unknown types, * with others, scheme', async () => {
      const refusals: Array<[Record<string, unknown>, RegExp | string]> = [
        [{ url: 'http://receiver.example/hook' }, /must be https/],
        [{ url: 'https://127.0.0.1/hook' }, 'loopback_refused'],
        [{ url: 'https://[::1]/hook' }, 'loopback_refused'],
        [{ url: 'https://169.254.169.254/latest' }, 'private_address_refused'],
        [{ url: 'https://inside.example/hook' }, 'private_address_refused'],
        [{ url: 'https://receiver.example/hook#x' }, /fragment/],
        [{ url: 'https://user:pw@receiver.example/hook' }, 'invalid_url'],
        [{ url: 'not a url' }, /absolute https URL/],
        [{ event_types: ['organisation.renamed'] }, /not an event type/],
        [{ event_types: [] }, /at least one/],
        [{ event_types: ['*', 'certificate.revoked'] }, /alone/],
        [{ scheme: 'hmac' }, /scheme/],
      ];
      for (const [input, expected] of refusals) {
        await assert.rejects(
          subscribe(input as never),
          (err: { status: number; message: string; findings?: Array<{ code: string }> }) => {
            assert.equal(err.status, 400, JSON.stringify(input));
            if (typeof expected === 'string')
              assert.equal(err.findings?.[0]?.code ?? err.message, expected, JSON.stringify(input));
            else assert.match(err.message, expected);
            return true;
          },
        );
      }
      assert.equal((await storage.db.selectFrom('webhook_subscriptions').select('id').execute()).length, 0);
    });

    test('ok/one delivery per matching subscription, queued with the cursor; never twice', async () => {
      await consume();
      const all = await subscribe({ scheme: 'standard-webhooks' });
      assert.match(all.secret!, /^whsec_/);
      const scoped = await subscribe({ event_types: ['organisation.suspended'], org_id: 'org-1' });
      assert.equal(scoped.secret, undefined, 'jws: no secret');
      const stored = await storage.db
        .selectFrom('webhook_subscriptions')
        .select(['id', 'secret_enc'])
        .where('id', '=', all.id)
        .executeTakeFirstOrThrow();
      assert.ok(stored.secret_enc && !stored.secret_enc.includes(all.secret!.slice(6)), 'stored sealed');
      await event('organisation.suspended', 'org-1');
      await event('organisation.suspended', 'org-2');
      await event('certificate.revoked', 'org-1');
      assert.equal(await consume(), 3);
      assert.equal(await consume(), 0, 'the cursor moved with the deliveries');
      const forAll = await listDeliveries(storage.db, { subscriptionId: all.id });
      const forScoped = await listDeliveries(storage.db, { subscriptionId: scoped.id });
      assert.equal(forAll.length, 3);
      assert.deepEqual(
        forScoped.map((d) => d.event_type),
        ['organisation.suspended'],
      );
      const detail = await getDelivery(storage.db, scoped.id, forScoped[0]!.id);
      assert.equal(detail.payload.org_id, 'org-1');
      assert.equal(detail.payload.id, forScoped[0]!.event_id);
      // Queued again for the same event (a replayed batch): ignored.
      const again = await storage.transaction(async (tx) => {
        const row = await tx.db
          .selectFrom('platform_events')
          .selectAll()
          .orderBy('seq')
          .limit(1)
          .executeTakeFirstOrThrow();
        await enqueueDeliveries(
          tx,
          [
            {
              seq: Number(row.seq),
              id: row.id,
              type: 'organisation.suspended',
              occurredAt: row.occurred_at,
              orgId: 'org-1',
              clientId: null,
              subject: { kind: 'organisation', id: 'org-1' },
              data: {},
            },
          ],
          T0,
        );
        return listDeliveries(tx.db as never, { subscriptionId: all.id });
      });
      assert.equal(again.length, 3);
      // Clean slate for the next tests.
      for (const id of [all.id, scoped.id])
        await storage.transaction((tx) => removeWebhookSubscription(tx, id, meta()));
      assert.equal(
        (await listDeliveries(storage.db, { status: 'pending' })).length,
        0,
        'removal cancels pending',
      );
    });

    test('ok/claims: concurrent claimers never take the same delivery; a lapsed claim is due again', async () => {
      const sub = await subscribe();
      for (let i = 0; i < 6; i++) await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      const [a, b, c] = await Promise.all(
        [0, 1, 2].map(() => claimDueDeliveries(storage, at(1), { limit: 3, leaseMs: 60_000 })),
      );
      const ids = [...a!, ...b!, ...c!].map((d) => d.id);
      assert.equal(ids.length, 6, 'all six claimed');
      assert.equal(new Set(ids).size, 6, 'none twice');
      assert.deepEqual(
        await claimDueDeliveries(storage, at(30), { limit: 10, leaseMs: 60_000 }),
        [],
        'held while the lease runs',
      );
      // The sender died: after the lease the deliveries are due again, as attempt 2, same event id.
      const reclaimed = await claimDueDeliveries(storage, at(62), { limit: 10, leaseMs: 60_000 });
      assert.equal(reclaimed.length, 6);
      assert.ok(reclaimed.every((d) => d.attempt === 2));
      const first = a![0]!;
      const again = reclaimed.find((d) => d.id === first.id)!;
      assert.equal(again.eventId, first.eventId);
      // The first claimer comes back late: its result changes nothing.
      assert.equal(
        await settleAttempt(storage, first, { startedAt: at(1), durationMs: 5, status: 200 }, at(70), policy),
        'lapsed',
      );
      assert.equal(
        await settleAttempt(
          storage,
          again,
          { startedAt: at(62), durationMs: 5, status: 204 },
          at(63),
          policy,
        ),
        'delivered',
      );
      await storage.transaction((tx) => removeWebhookSubscription(tx, sub.id, meta()));
    });

    test('ok/failures retried on schedule, then dead; redeliver starts a fresh window with the same id', async () => {
      const sub = await subscribe();
      const ping = await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      const attempt = async (now: Date, outcome: { status?: number; error?: string }) => {
        const [claim] = await claimDueDeliveries(storage, now, { limit: 1, leaseMs: 60_000 });
        assert.ok(claim, `due at ${now.toISOString()}`);
        return settleAttempt(
          storage,
          claim,
          { startedAt: now, durationMs: 12, ...outcome },
          now,
          policy,
          mid,
        );
      };
      assert.equal(await attempt(T0, { status: 500 }), 'pending');
      assert.deepEqual(
        await claimDueDeliveries(storage, at(9), { limit: 1, leaseMs: 60_000 }),
        [],
        'not before 10 s',
      );
      assert.equal(await attempt(at(10), { error: 'network_error: request failed' }), 'pending');
      assert.equal(
        await attempt(at(70), { status: 302 }),
        'dead',
        'a redirect is not followed, and counts as a failure',
      );
      const dead = await listDeliveries(storage.db, { status: 'dead' });
      assert.deepEqual(
        dead.map((d) => d.id),
        [ping.id],
      );
      const detail = await getDelivery(storage.db, sub.id, ping.id);
      assert.deepEqual(
        detail.attempt_log.map((a) => [a.attempt, a.status_code, a.error]),
        [
          [1, 500, 'receiver answered HTTP 500'],
          [2, null, 'network_error: request failed'],
          [3, 302, 'receiver answered HTTP 302'],
        ],
      );
      const again = await storage.transaction((tx) => redeliver(tx, sub.id, ping.id, meta(at(100))));
      assert.equal(again.status, 'pending');
      await assert.rejects(
        storage.transaction((tx) => redeliver(tx, sub.id, ping.id, meta(at(100)))),
        { status: 409 },
      );
      const [claim] = await claimDueDeliveries(storage, at(100), { limit: 1, leaseMs: 60_000 });
      assert.equal(claim!.attempt, 1, 'a fresh set of attempts');
      assert.equal(claim!.eventId, ping.event_id, 'the same webhook-id');
      assert.equal(
        await settleAttempt(
          storage,
          claim!,
          { startedAt: at(100), durationMs: 3, status: 200 },
          at(100),
          policy,
        ),
        'delivered',
      );
      await assert.rejects(
        storage.transaction((tx) => redeliver(tx, sub.id, 'nope', meta())),
        { status: 404 },
      );
      await storage.transaction((tx) => removeWebhookSubscription(tx, sub.id, meta()));
    });

    test('ok/a disabled subscription holds its deliveries; rotation signs with both secrets for the overlap', async () => {
      const sub = await subscribe({ scheme: 'standard-webhooks' });
      await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      await storage.transaction((tx) =>
        updateWebhookSubscription(tx, sub.id, { enabled: false }, { ...meta(), urlGuard: guard }),
      );
      assert.deepEqual(await claimDueDeliveries(storage, at(1), { limit: 5, leaseMs: 1000 }), []);
      await assert.rejects(
        storage.transaction((tx) => queuePing(tx, sub.id, meta())),
        { status: 409 },
      );
      await storage.transaction((tx) =>
        updateWebhookSubscription(tx, sub.id, { enabled: true }, { ...meta(), urlGuard: guard }),
      );
      assert.equal((await claimDueDeliveries(storage, at(1), { limit: 5, leaseMs: 1000 })).length, 1);
      await assert.rejects(
        storage.transaction((tx) =>
          updateWebhookSubscription(tx, sub.id, { url: 'https://10.0.0.1/' }, { ...meta(), urlGuard: guard }),
        ),
        { code: 'webhook_url_refused' },
      );
      const rotated = await storage.transaction((tx) =>
        rotateWebhookSecret(tx, sub.id, 3600, { ...meta(), kek: KEK }),
      );
      assert.notEqual(rotated.secret, sub.secret);
      assert.equal(rotated.previous_secret_until, at(3600).toISOString());
      const row = await storage.db
        .selectFrom('webhook_subscriptions')
        .selectAll()
        .where('id', '=', sub.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(signingSecretsOf(row, KEK, at(10)), [rotated.secret, sub.secret]);
      assert.deepEqual(signingSecretsOf(row, KEK, at(3600)), [rotated.secret], 'overlap over');
      await assert.rejects(
        storage.transaction((tx) => rotateWebhookSecret(tx, sub.id, -1, { ...meta(), kek: KEK })),
        { status: 400 },
      );
      const jws = await subscribe();
      await assert.rejects(
        storage.transaction((tx) => rotateWebhookSecret(tx, jws.id, 60, { ...meta(), kek: KEK })),
        { status: 409 },
      );
    });

    test('ok/settled deliveries are pruned after the retention, pending ones never', async () => {
      const sub = await subscribe();
      const kept = await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      const done = await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      const claims = await claimDueDeliveries(storage, T0, { limit: 10, leaseMs: 1000 });
      const claim = claims.find((c) => c.id === done.id)!;
      await settleAttempt(storage, claim, { startedAt: T0, durationMs: 1, status: 200 }, T0, policy);
      await storage.db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: T0.toISOString(), claim_token: null })
        .where('id', '=', kept.id)
        .execute();
      assert.equal(await pruneDeliveries(storage, T0), 0, 'nothing older than the cut-off');
      const pendingBefore = (await listDeliveries(storage.db, { status: 'pending', limit: 500 })).length;
      assert.ok((await pruneDeliveries(storage, at(86_400 * 365))) >= 1);
      const left = await listDeliveries(storage.db, { limit: 500 });
      assert.ok(
        left.every((d) => d.status === 'pending'),
        'every settled one pruned',
      );
      assert.equal(left.length, pendingBefore, 'no pending one pruned');
      assert.deepEqual(
        (await listDeliveries(storage.db, { subscriptionId: sub.id })).map((d) => d.id),
        [kept.id],
      );
      assert.equal(
        (
          await storage.db
            .selectFrom('webhook_attempts')
            .select('id')
            .where('delivery_id', '=', done.id)
            .execute()
        ).length,
        0,
      );
    });

    test('ok/the audit log records subscriptions with a receiver token in the URL redacted', async () => {
      const token = 'k9f8d7s6a5q4w3e2r1t0y9u8i7o6p5a4';
      const sub = await subscribe({ url: `https://receiver.example/hook?token=${token}` });
      assert.equal(sub.url, `https://receiver.example/hook?token=${token}`, 'the operator sees what was set');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('target_id', '=', sub.id)
        .execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ['webhook.create'],
      );
      assert.ok(!String(audit[0]!.details).includes(token));
      assert.match(String(audit[0]!.details), /token=\[redacted\]/);
    });

    test('ok/a 410 Gone answer kills the delivery at once and disables the subscription', async () => {
      const sub = await subscribe();
      const ping = await storage.transaction((tx) => queuePing(tx, sub.id, meta()));
      // Other tests' deliveries may be due too: take them all, settle this one.
      const claim = (await claimDueDeliveries(storage, at(3600), { limit: 100, leaseMs: 1000 })).find(
        (c) => c.id === ping.id,
      );
      assert.equal(
        await settleAttempt(storage, claim!, { startedAt: T0, durationMs: 2, status: 410 }, T0, policy),
        'dead',
      );
      const row = await storage.db
        .selectFrom('webhook_subscriptions')
        .select('status')
        .where('id', '=', sub.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'disabled');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['actor', 'action'])
        .where('target_id', '=', sub.id)
        .orderBy('seq')
        .execute();
      assert.deepEqual({ ...audit.at(-1) }, { actor: 'system:webhooks', action: 'webhook.disable' });
      await storage.transaction((tx) => removeWebhookSubscription(tx, sub.id, meta()));
    });
  });
}
