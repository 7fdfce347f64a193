import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import {
  consumeEvents,
  cursorOf,
  listPlatformEvents,
  type PlatformEvent,
  recordPlatformEvent,
  relayChanges,
  startPlatformEvents,
} from '../../src/audit/index.ts';
import {
  createApplication,
  createOrganisation,
  deregisterApplication,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`platform events (${target.name})`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    async function partner(storage: Awaited<ReturnType<typeof seededStorage>>, name: string) {
      return storage.transaction(async (tx) => {
        const orgId = await createOrganisation(tx, { name, roles: ['partner_reader'] }, META);
        const clientId = await createApplication(
          tx,
          {
            orgId,
            name: `${name} app`,
            roles: ['partner_reader'],
            authMethod: 'tls_client_auth',
            registrationType: 'dynamic',
            clientId: `cl_${name.replace(/\W/g, '')}`,
          },
          META,
        );
        return { orgId, clientId };
      });
    }

    test('changes become events once, in order, with organisation and client', async () => {
      const storage = await seededStorage(target);
      try {
        const { orgId, clientId } = await partner(storage, 'Events Bank');
        await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'suspended', META));
        await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'active', META));
        await storage.transaction((tx) => deregisterApplication(tx, clientId, { ...META, reason: 'ended' }));
        const first = await relayChanges(storage, META.now);
        assert.ok(first >= 6, `recorded ${first}`);
        assert.equal(await relayChanges(storage, META.now), 0, 'a second pass records nothing');
        const events = await listPlatformEvents(storage, { orgId });
        assert.deepEqual(
          events.map((e) => e.type),
          [
            'organisation.activated',
            'application.activated',
            'registration.created',
            'organisation.suspended',
            'organisation.activated',
            'application.deleted',
            'registration.ended',
          ],
        );
        const created = events.find((e) => e.type === 'registration.created')!;
        assert.equal(created.clientId, clientId);
        assert.deepEqual(created.subject, { kind: 'application', id: clientId });
        assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
        assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq));
      } finally {
        await storage.close();
      }
    });

    test('a consumer sees each event once; a failed batch is seen again', async () => {
      const storage = await seededStorage(target);
      try {
        await partner(storage, 'Consumer Bank');
        await relayChanges(storage, META.now);
        const seen: PlatformEvent[] = [];
        // From the beginning: every event so far.
        assert.ok(
          (await consumeEvents(storage, 'test:a', async (_tx, e) => void seen.push(...e), META.now, {
            from: 'beginning',
          })) > 0,
        );
        const count = seen.length;
        assert.equal(
          await consumeEvents(storage, 'test:a', async (_tx, e) => void seen.push(...e), META.now),
          0,
        );
        // A consumer that starts now sees only what comes after.
        assert.equal(await consumeEvents(storage, 'test:b', async () => {}, META.now), 0);
        await storage.transaction((tx) =>
          recordPlatformEvent(
            tx,
            {
              type: 'key.expiring',
              orgId: null,
              clientId: null,
              subject: { kind: 'key', id: 'k1' },
              data: { days: 7 },
            },
            META.now,
            { dedupeKey: 'k1:7' },
          ),
        );
        const again = await storage.transaction((tx) =>
          recordPlatformEvent(
            tx,
            {
              type: 'key.expiring',
              orgId: null,
              clientId: null,
              subject: { kind: 'key', id: 'k1' },
              data: { days: 7 },
            },
            META.now,
            { dedupeKey: 'k1:7' },
          ),
        );
        assert.equal(again, false, 'the dedupe key records an occurrence once');
        const before = await cursorOf(storage, 'test:b');
        await assert.rejects(
          consumeEvents(
            storage,
            'test:b',
            async () => {
              throw new Error('receiver down');
            },
            META.now,
          ),
          /receiver down/,
        );
        assert.equal(await cursorOf(storage, 'test:b'), before, 'a failed batch does not move the cursor');
        const late: PlatformEvent[] = [];
        assert.equal(
          await consumeEvents(storage, 'test:b', async (_tx, e) => void late.push(...e), META.now),
          1,
        );
        assert.equal(late[0]!.type, 'key.expiring');
        assert.equal(seen.length, count);
      } finally {
        await storage.close();
      }
    });

    test('the running relay wakes consumers after a change commits', async () => {
      const storage = await seededStorage(target);
      await storage.feed.start();
      const events = startPlatformEvents({
        storage,
        clock: () => META.now,
        logger: pino({ level: 'silent' }),
        pollIntervalMs: 60_000,
      });
      try {
        const woke = new Promise<void>((resolve) => {
          const off = events.onEvents(() => {
            void listPlatformEvents(storage, { type: 'organisation.activated' }).then((list) => {
              if (list.length > 0) {
                off();
                resolve();
              }
            });
          });
        });
        await partner(storage, 'Woken Bank');
        await woke;
      } finally {
        await events.close();
        await storage.close();
      }
    });
  });
}
