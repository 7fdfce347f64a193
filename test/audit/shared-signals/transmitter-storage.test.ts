import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import pino from 'pino';
import {
  changeSubject,
  createStream,
  type EventSigner,
  issueSsfReceiver,
  type PlatformEventInput,
  pollOnce,
  pruneQueuedSets,
  pushDueSets,
  readStreamRequest,
  recordPlatformEvent,
  SSF_EVENT_TYPES,
  type SsfReceiver,
  type StreamRecord,
  SUPPORTED_EVENT_TYPES,
  setStreamStatus,
  startSharedSignals,
  type TransmitterSettings,
} from '../../../src/audit/index.ts';
import { FetchError, type GuardedPost, type GuardedSender } from '../../../src/shared/guarded-fetch/index.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { META, seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';

const targets = await engineTargets();
const logger = pino({ level: 'silent' });
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer: EventSigner = {
  kid: 'k1',
  alg: 'ES256',
  sign: (payload, typ) =>
    new SignJWT({ ...payload }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ }).sign(privateKey),
};
const sealer = { seal: (s: string) => `sealed:${s}`, open: (s: string) => s.replace(/^sealed:/, '') };
const settings: TransmitterSettings = {
  issuer: 'https://accredit.example',
  pollUrlOf: (id) => `https://accredit.example/ssf/poll/${id}`,
  minVerificationIntervalSeconds: 10,
  maxStreamsPerReceiver: 5,
  maxSubjectsPerStream: 10,
};
const context = { issuer: settings.issuer, x509Issuer: 'CN=Issuing CA' };

/** A receiver endpoint behind the poster port: answers as told, records what it was sent. */
function fakePoster() {
  const sent: GuardedPost[] = [];
  let answer: (req: GuardedPost) => Promise<{ status: number; contentType: string; body: string }> =
    async () => ({
      status: 202,
      contentType: '',
      body: '',
    });
  const poster: GuardedSender = {
    async post(req) {
      sent.push(req);
      const a = await answer(req);
      return { ...a, excerpt: a.body.slice(0, 256) };
    },
    async assertFetchable() {},
    async close() {},
  };
  return {
    poster,
    sent,
    answer(fn: typeof answer) {
      answer = fn;
    },
  };
}

const suspend = (orgId: string, clientId: string | null = null): PlatformEventInput => ({
  type: clientId ? 'application.suspended' : 'organisation.suspended',
  orgId,
  clientId,
  subject: clientId ? { kind: 'application', id: clientId } : { kind: 'organisation', id: orgId },
  data: { status: 'suspended' },
});

async function record(storage: Storage, ...events: PlatformEventInput[]) {
  await storage.transaction(async (tx) => {
    for (const e of events) await recordPlatformEvent(tx, e, META.now);
  });
}

for (const target of targets) {
  describe(`shared signals transmitter (${target.name})`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    async function setup() {
      const storage = await seededStorage(target);
      const fake = fakePoster();
      // Some event before any stream: no stream carries it.
      await record(storage, suspend('org-early'));
      const receiver = async (name: string, orgId: string | null): Promise<SsfReceiver> => {
        const r = await storage.transaction((tx) => issueSsfReceiver(tx, { name, orgId }, META));
        return { id: r.id, name: r.name, orgId: r.org_id };
      };
      const stream = (who: SsfReceiver, body: unknown): Promise<StreamRecord> =>
        storage.transaction((tx) =>
          createStream(
            tx,
            who,
            readStreamRequest(body, 'create', {
              iss: settings.issuer,
              aud: '',
              events_supported: SUPPORTED_EVENT_TYPES,
              events_delivered: [],
              min_verification_interval: 10,
            }),
            { now: META.now, transmitter: settings, sealer },
          ),
        );
      const transmitter = startSharedSignals({
        storage,
        clock: () => META.now,
        logger,
        events: { onEvents: () => () => {} },
        signer: async () => signer,
        context,
        poster: fake.poster,
        sealer,
        retryIntervalMs: 60_000,
      });
      return { storage, fake, receiver, stream, transmitter };
    }

    test('queues one signed SET per stream that carries the event; push and poll, scoped by organisation', async () => {
      const { storage, fake, receiver, stream, transmitter } = await setup();
      try {
        const soc = await receiver('soc', null);
        const partner = await receiver('partner-1', 'org-1');
        const pushed = await stream(soc, {
          delivery: {
            method: 'urn:ietf:rfc:8935',
            endpoint_url: 'https://r.example/ev',
            authorization_header: 'Bearer r',
          },
        });
        const polled = await stream(partner, { delivery: { method: 'urn:ietf:rfc:8936' } });
        await transmitter.flush();
        assert.equal(fake.sent.length, 0, 'events before the stream existed are not carried');

        await record(storage, suspend('org-1'), suspend('org-2', 'cl_2'));
        await transmitter.flush();
        // RFC 8935 §2: POST application/secevent+jwt, with the receiver's own authorization.
        assert.equal(fake.sent.length, 2);
        for (const req of fake.sent) {
          assert.equal(req.url, 'https://r.example/ev');
          assert.equal(req.headers['content-type'], 'application/secevent+jwt');
          assert.equal(req.headers?.authorization, 'Bearer r');
          assert.equal(decodeProtectedHeader(req.body).typ, 'secevent+jwt');
        }
        const claims = fake.sent.map((r) => decodeJwt(r.body));
        assert.deepEqual(
          claims.map((c) => Object.keys(c.events as object)[0]),
          [SSF_EVENT_TYPES.accountDisabled, SSF_EVENT_TYPES.accountDisabled],
        );
        assert.equal(claims[0]!.aud, 'soc');
        assert.equal(claims[0]!.iss, settings.issuer);

        // The partner's stream carries only org-1's event.
        const poll = { maxEvents: 10, returnImmediately: true, ack: [], setErrs: {} };
        const first = await pollOnce(storage, partner, polled.streamId, poll, {
          now: META.now,
          redeliverAfterMs: 30_000,
          takeSets: true,
        });
        const tokens = Object.values(first.sets);
        assert.equal(tokens.length, 1);
        assert.deepEqual(decodeJwt(tokens[0]!).sub_id, {
          format: 'complex',
          tenant: { format: 'opaque', id: 'org-1' },
        });
        // Not acknowledged: held back, then offered again (RFC 8936 §2.4).
        const soon = await pollOnce(storage, partner, polled.streamId, poll, {
          now: new Date(META.now.getTime() + 1000),
          redeliverAfterMs: 30_000,
          takeSets: true,
        });
        assert.deepEqual(soon.sets, {});
        const later = new Date(META.now.getTime() + 31_000);
        const again = await pollOnce(storage, partner, polled.streamId, poll, {
          now: later,
          redeliverAfterMs: 30_000,
          takeSets: true,
        });
        assert.deepEqual(again.sets, first.sets);
        // Another receiver's ack does nothing to this stream; the owner's removes it.
        await assert.rejects(
          pollOnce(
            storage,
            soc,
            polled.streamId,
            { ...poll, ack: Object.keys(first.sets) },
            {
              now: later,
              redeliverAfterMs: 30_000,
              takeSets: true,
            },
          ),
          (err: { status?: number }) => err.status === 404,
        );
        // RFC 8936 §2.4.3: a SET the receiver reports in setErrs is done with, like an acknowledged one.
        await pollOnce(
          storage,
          partner,
          polled.streamId,
          {
            ...poll,
            setErrs: Object.fromEntries(
              Object.keys(first.sets).map((j) => [j, { err: 'invalid_key', description: 'x' }]),
            ),
          },
          {
            now: later,
            redeliverAfterMs: 0,
            takeSets: false,
          },
        );
        const gone = await pollOnce(storage, partner, polled.streamId, poll, {
          now: new Date(later.getTime() + 60_000),
          redeliverAfterMs: 0,
          takeSets: true,
        });
        assert.deepEqual(gone.sets, {});
        assert.ok(pushed.streamId);
      } finally {
        await transmitter.close();
        await storage.close();
      }
    });

    test('push failures: 503 retried with backoff, 400 refusal and refused addresses given up, 2xx delivered', async () => {
      const { storage, fake, receiver, stream, transmitter } = await setup();
      try {
        const soc = await receiver('soc', null);
        await stream(soc, {
          delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://r.example/ev' },
        });
        await transmitter.close();
        const deps = { storage, poster: fake.poster, sealer, logger, maxAttempts: 3 };
        await record(storage, suspend('org-1'));
        // Queue through the consumer once.
        const t2 = startSharedSignals({
          storage,
          clock: () => META.now,
          logger,
          events: { onEvents: () => () => {} },
          signer: async () => signer,
          context,
          poster: {
            ...fake.poster,
            post: async () => ({ status: 503, contentType: '', body: '', excerpt: '' }),
          },
          sealer,
          retryIntervalMs: 60_000,
        });
        await t2.flush();
        await t2.close();
        const row = () => storage.db.selectFrom('ssf_queued_sets').selectAll().executeTakeFirst();
        assert.equal((await row())?.last_error, 'HTTP 503');
        assert.equal((await row())?.failed_at, null);
        assert.equal(Number((await row())?.attempts), 1);
        // Not due before its backoff.
        assert.equal(await pushDueSets({ ...deps, now: () => META.now }), 0);
        // RFC 8935 §2.3: a 400 with {err} is a refusal of this SET: given up.
        fake.answer(async () => ({
          status: 400,
          contentType: 'application/json',
          body: '{"err":"invalid_key"}',
        }));
        const t = new Date(META.now.getTime() + 5000);
        assert.equal(await pushDueSets({ ...deps, now: () => t }), 0);
        assert.equal((await row())?.last_error, 'refused: invalid_key');
        assert.ok((await row())?.failed_at, 'refused SETs are kept as failed, never sent again');
        const sentBefore = fake.sent.length;
        assert.equal(await pushDueSets({ ...deps, now: () => new Date(t.getTime() + 3_600_000) }), 0);
        assert.equal(fake.sent.length, sentBefore);

        // An address the policy refuses is permanent too; a 202 is delivered and deleted.
        await storage.db.deleteFrom('ssf_queued_sets').execute();
        await record(storage, suspend('org-2'), suspend('org-3'));
        const t3 = startSharedSignals({
          storage,
          clock: () => t,
          logger,
          events: { onEvents: () => () => {} },
          signer: async () => signer,
          context,
          poster: {
            ...fake.poster,
            post: async () => {
              throw new FetchError('loopback_refused', 'refused');
            },
          },
          sealer,
          retryIntervalMs: 60_000,
        });
        await t3.flush();
        await t3.close();
        const rows = await storage.db.selectFrom('ssf_queued_sets').selectAll().orderBy('seq').execute();
        assert.equal(rows.length, 2);
        for (const r of rows) {
          assert.equal(r.last_error, 'loopback_refused');
          assert.ok(r.failed_at, 'a refused address is given up, the SET kept for the operator');
        }
        await record(storage, suspend('org-4'));
        const t4 = startSharedSignals({
          storage,
          clock: () => t,
          logger,
          events: { onEvents: () => () => {} },
          signer: async () => signer,
          context,
          poster: fake.poster,
          sealer,
          retryIntervalMs: 60_000,
        });
        fake.answer(async () => ({ status: 202, contentType: '', body: '' }));
        const before = fake.sent.length;
        await t4.flush();
        await t4.close();
        assert.equal(fake.sent.length, before + 1);
        const left = await storage.db.selectFrom('ssf_queued_sets').selectAll().execute();
        assert.equal(left.length, 2, 'the delivered SET is deleted, only the failed ones are kept');
      } finally {
        await storage.close();
      }
    });

    test('a revoked token reaches the client organisation’s receiver as session-revoked; subject filters apply', async () => {
      const { storage, receiver, stream, transmitter } = await setup();
      try {
        const partner = await receiver('partner-1', 'org-1');
        const s = await stream(partner, {
          delivery: { method: 'urn:ietf:rfc:8936' },
          events_requested: [SSF_EVENT_TYPES.sessionRevoked],
        });
        const revokedToken = (clientId: string, jti: string): PlatformEventInput => ({
          type: 'token.revoked',
          orgId: 'org-1',
          clientId,
          subject: { kind: 'token', id: jti },
          data: {},
        });
        // Only cl_a's events once it is added as a subject (the client's iss_sub, a member of the sub_id).
        await storage.transaction((tx) =>
          changeSubject(tx, s, { format: 'iss_sub', iss: settings.issuer, sub: 'cl_a' }, 'include', {
            now: META.now,
            max: 10,
          }),
        );
        await record(
          storage,
          revokedToken('cl_a', 'jti-a'),
          revokedToken('cl_b', 'jti-b'),
          suspend('org-1', 'cl_a'),
        );
        await transmitter.flush();
        const answer = await pollOnce(
          storage,
          partner,
          s.streamId,
          { maxEvents: 10, returnImmediately: true, ack: [], setErrs: {} },
          { now: META.now, redeliverAfterMs: 30_000, takeSets: true },
        );
        const claims = Object.values(answer.sets).map((t) => decodeJwt(t));
        assert.equal(claims.length, 1, 'cl_b filtered out; account-disabled not requested');
        assert.deepEqual(Object.keys(claims[0]!.events as object), [SSF_EVENT_TYPES.sessionRevoked]);
        assert.deepEqual((claims[0]!.sub_id as { session: unknown }).session, {
          format: 'opaque',
          id: 'jti-a',
        });
      } finally {
        await transmitter.close();
        await storage.close();
      }
    });

    test('a push credential that cannot be opened gives its SETs up instead of retrying forever', async () => {
      const { storage, fake, receiver, stream, transmitter } = await setup();
      await transmitter.close();
      const broken = startSharedSignals({
        storage,
        clock: () => META.now,
        logger,
        events: { onEvents: () => () => {} },
        signer: async () => signer,
        context,
        poster: fake.poster,
        sealer: {
          seal: sealer.seal,
          open: () => {
            throw new Error('unsupported state or unable to authenticate data');
          },
        },
        retryIntervalMs: 60_000,
      });
      try {
        const soc = await receiver('soc', null);
        await stream(soc, {
          delivery: {
            method: 'urn:ietf:rfc:8935',
            endpoint_url: 'https://r.example/ev',
            authorization_header: 'Bearer r',
          },
        });
        await record(storage, suspend('org-1'));
        await broken.flush();
        assert.equal(fake.sent.length, 0, 'never sent without its credential');
        const [row] = await storage.db.selectFrom('ssf_queued_sets').selectAll().execute();
        assert.equal(row!.last_error, 'credential_unreadable');
        assert.ok(row!.failed_at);
      } finally {
        await broken.close();
        await storage.close();
      }
    });

    test('long polls are woken by a queued SET, and told to stop when the transmitter closes', async () => {
      const { storage, receiver, stream, transmitter } = await setup();
      try {
        const soc = await receiver('soc', null);
        const s = await stream(soc, { delivery: { method: 'urn:ietf:rfc:8936' } });
        const waiting = transmitter.waitForSets(s.streamId, 60_000);
        await record(storage, suspend('org-1'));
        await transmitter.flush();
        assert.equal(await waiting, true, 'woken by the queued SET, long before the minute');
        const closing = transmitter.waitForSets(s.streamId, 60_000);
        await transmitter.close();
        assert.equal(await closing, false);
        assert.equal(await transmitter.waitForSets(s.streamId, 60_000), false, 'no waiting once closed');
      } finally {
        await transmitter.close();
        await storage.close();
      }
    });

    test('a receiver that hangs does not hold back another stream', { timeout: 30_000 }, async () => {
      const { storage, fake, receiver, stream, transmitter } = await setup();
      try {
        const soc = await receiver('soc', null);
        await stream(soc, {
          delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://slow.example/ev' },
        });
        await stream(soc, {
          delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://fast.example/ev' },
        });
        let release!: () => void;
        const released = new Promise<void>((r) => {
          release = r;
        });
        const fastWaiters: Array<() => void> = [];
        const fastCount = () => fake.sent.filter((r) => r.url.startsWith('https://fast.')).length;
        const fastReached = (n: number) =>
          new Promise<void>((r) => {
            if (fastCount() >= n) r();
            else fastWaiters.push(() => fastCount() >= n && r());
          });
        fake.answer(async (req) => {
          if (req.url.startsWith('https://slow.')) await released;
          for (const w of fastWaiters) w();
          return { status: 202, contentType: '', body: '' };
        });
        await record(storage, suspend('org-1'));
        const first = transmitter.flush();
        await fastReached(1);
        // A second revocation while the slow receiver still holds the first: the fast stream gets it anyway.
        await record(storage, suspend('org-2'));
        const second = transmitter.flush();
        await fastReached(2);
        assert.equal(
          fake.sent.filter((r) => r.url.startsWith('https://slow.')).length,
          1,
          'slow still on its first',
        );
        release();
        await first;
        await second;
        assert.equal((await storage.db.selectFrom('ssf_queued_sets').selectAll().execute()).length, 0);
      } finally {
        await transmitter.close();
        await storage.close();
      }
    });

    test('paused holds and delivers on enable; disabled drops and queues nothing; too many attempts give up', async () => {
      const { storage, fake, receiver, stream, transmitter } = await setup();
      try {
        const soc = await receiver('soc', null);
        const s = await stream(soc, {
          delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://r.example/ev' },
        });
        await storage.transaction((tx) => setStreamStatus(tx, s, 'paused', null, META.now));
        await record(storage, suspend('org-1'));
        await transmitter.flush();
        assert.equal(fake.sent.length, 0, 'paused: held');
        const held = await storage.db.selectFrom('ssf_queued_sets').selectAll().execute();
        assert.equal(held.length, 1);
        await storage.transaction((tx) =>
          setStreamStatus(tx, { ...s, status: 'paused' }, 'enabled', null, META.now),
        );
        await transmitter.flush();
        assert.equal(fake.sent.length, 1, 'enabled: the held SET goes out');

        await storage.transaction((tx) => setStreamStatus(tx, s, 'disabled', null, META.now));
        await record(storage, suspend('org-2'));
        await transmitter.flush();
        assert.equal((await storage.db.selectFrom('ssf_queued_sets').selectAll().execute()).length, 0);

        await storage.transaction((tx) =>
          setStreamStatus(tx, { ...s, status: 'disabled' }, 'enabled', null, META.now),
        );
        fake.answer(async () => ({ status: 500, contentType: '', body: '' }));
        await record(storage, suspend('org-3'));
        await transmitter.flush();
        let now = META.now;
        for (let i = 0; i < 5; i++) {
          now = new Date(now.getTime() + 3_600_000);
          const at = now;
          await pushDueSets({ storage, poster: fake.poster, sealer, logger, now: () => at, maxAttempts: 3 });
        }
        const [row] = await storage.db.selectFrom('ssf_queued_sets').selectAll().execute();
        assert.equal(Number(row!.attempts), 3);
        assert.ok(row!.failed_at, 'given up after maxAttempts');
        // Retention: kept for a week for the operator, then dropped.
        const week = 7 * 24 * 3_600_000;
        assert.equal(await pruneQueuedSets(storage, now, week), 0);
        assert.equal(await pruneQueuedSets(storage, new Date(now.getTime() + week + 1000), week), 1);
      } finally {
        await transmitter.close();
        await storage.close();
      }
    });
  });
}
