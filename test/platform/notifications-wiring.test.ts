import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { startPlatformEvents } from '../../src/audit/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import { createCsr, generateKeyPair } from '../../src/pki/index.ts';
import type { PlatformConfig } from '../../src/platform/config.ts';
import { startExpiryMonitor } from '../../src/platform/expiry-monitor.ts';
import { startNotifications } from '../../src/platform/notifications.ts';
import { installCa } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { SmtpSink } from '../support/smtp-sink.ts';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });
const targets = await engineTargets();

for (const target of targets) {
  describe(`expiry monitor → events → mail, as start-platform wires them (${target.name})`, {
    skip: target.skip,
    timeout: 60_000,
  }, () => {
    after(() => target.cleanup());

    test('ok/with an injected clock: the monitor raises the 7-day event and the security contact gets one mail; a revocation too', async () => {
      const storage = await seededStorage(target);
      const sink = new SmtpSink();
      const port = await sink.listen();
      let now = META.now;
      const clock = () => now;
      const events = startPlatformEvents({ storage, clock, logger, pollIntervalMs: 60_000 });
      const notifications = startNotifications({
        storage,
        clock,
        logger,
        events,
        config: {
          smtp: {
            host: '127.0.0.1',
            port,
            security: 'none',
            user: undefined,
            passwordFile: undefined,
            from: 'accredit@platform.example',
            caFile: undefined,
          },
          operators: ['ops@platform.example'],
        },
        retryIntervalMs: 60_000,
      })!;
      const config: Pick<PlatformConfig, 'expiry' | 'keys'> = {
        expiry: { thresholdDays: [30, 14, 7, 1], intervalMinutes: 60 },
        keys: { maxAgeDays: 0 },
      };
      const monitor = startExpiryMonitor({ storage, clock, logger, events, config });
      try {
        await notifications.flush();
        const ca = await installCa(storage);
        const { clientId } = await storage.transaction(async (tx) => {
          const orgId = await createOrganisation(
            tx,
            { name: 'Wired Bank', contacts: [{ kind: 'security', name: 'Sec', email: 'sec@wired.example' }] },
            META,
          );
          const clientId = await createApplication(
            tx,
            { orgId, name: 'Payments', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            META,
          );
          return { orgId, clientId };
        });
        const { privateKey, publicKey } = generateKeyPair('ES256');
        const cert = await storage.transaction(async (tx) =>
          ca.issue(
            tx,
            { clientId, csrPem: await createCsr({ privateKey, publicKey }) },
            { actor: 'test', now: META.now },
          ),
        );
        now = new Date(new Date(cert.not_after).getTime() - 6 * DAY);
        assert.equal(await monitor.run(), 1);
        await events.flush();
        await notifications.flush();
        assert.deepEqual(
          sink.messages.map((m) => [m.to.join(), m.subject]),
          [
            [
              'sec@wired.example',
              `[Accredit] Certificate ${cert.serial.slice(0, 8).toUpperCase()}… for Payments expires in 6 days`,
            ],
          ],
        );
        // A pass at the same time, and later ones in the same window, send nothing more.
        assert.equal(await monitor.run(), 0);
        now = new Date(now.getTime() + DAY);
        assert.equal(await monitor.run(), 0);
        await notifications.flush();
        assert.equal(sink.messages.length, 1);
        // A revocation reaches the contact through the change feed relay.
        await storage.transaction((tx) => ca.revoke(tx, cert.serial, 'superseded', { actor: 'test', now }));
        await events.flush();
        await notifications.flush();
        assert.equal(sink.messages.length, 2);
        assert.match(sink.messages[1]!.subject, /was revoked$/);
      } finally {
        await monitor.close();
        await notifications.close();
        await events.close();
        await sink.close();
        await storage.close();
      }
    });
  });
}
