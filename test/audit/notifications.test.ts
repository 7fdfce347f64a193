import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  deliverDueMail,
  listMailOutbox,
  type MailTransport,
  mailBackoffMs,
  notificationMail,
  type PlatformEvent,
  queueNotifications,
  recordPlatformEvent,
  relayChanges,
} from '../../src/audit/index.ts';
import { createApplication, createOrganisation, setOrganisationStatus } from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  createCsr,
  generateKeyPair,
  runExpiryMonitor,
} from '../../src/pki/index.ts';
import type { NotificationsConfig } from '../../src/platform/config.ts';
import { directoryRecipients } from '../../src/platform/notifications.ts';
import { createSmtpTransport } from '../../src/platform/smtp-transport.ts';
import type { Storage } from '../../src/storage/index.ts';
import { installCa } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { SmtpSink } from '../support/smtp-sink.ts';

const DAY = 86_400_000;
const MINUTE = 60_000;
const FROM = 'accredit@platform.example';
const OPERATORS = ['ops@platform.example'];
const at = (iso: string, offsetMs: number) => new Date(new Date(iso).getTime() + offsetMs);

function smtpConfig(port: number): NotificationsConfig {
  return {
    smtp: {
      host: '127.0.0.1',
      port,
      security: 'none',
      user: undefined,
      passwordFile: undefined,
      from: FROM,
      caFile: undefined,
    },
    operators: OPERATORS,
  };
}

describe('notificationMail', () => {
  const base: PlatformEvent = {
    seq: 1,
    id: '7d4c9c1e-0000-4000-8000-000000000001',
    type: 'certificate.expiring',
    occurredAt: '2026-05-23T10:00:00.000Z',
    orgId: 'org-1',
    clientId: 'cl_abc',
    subject: { kind: 'certificate', id: '1f2a3b4c5d6e7f80', x5t_s256: 'thumb' },
    data: {
      serial: '1f2a3b4c5d6e7f80',
      not_after: '2026-05-30T10:00:00.000Z',
      days_left: 7,
      threshold: 7,
      application_name: 'Payments\r\nBcc: victim@example.org',
    },
  };

  test('ok/subject names the certificate, the application and the days left', () => {
    const mail = notificationMail(
      { ...base, data: { ...base.data, application_name: 'Payments' } },
      { organisationName: 'Acme Bank', toOperators: false },
    );
    assert.equal(mail?.subject, '[Accredit] Certificate 1F2A3B4C… for Payments expires in 7 days');
    assert.match(mail!.body, /Acme Bank/);
    assert.match(mail!.body, /security contact of Acme Bank/);
  });

  test('fail/control characters in partner-chosen names never reach a header', () => {
    const mail = notificationMail(base, { organisationName: 'Acme\nBank', toOperators: false })!;
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    assert.doesNotMatch(mail.body, /Acme\nBank/);
  });

  test('ok/1 day, today, keys, CA, revocation and suspension', () => {
    const one = notificationMail({ ...base, data: { ...base.data, days_left: 1 } }, { toOperators: true })!;
    assert.match(one.subject, /expires in 1 day$/);
    assert.match(one.body, /operator of the Accredit platform/);
    assert.match(
      notificationMail({ ...base, data: { ...base.data, days_left: 0 } }, { toOperators: true })!.subject,
      /expires today$/,
    );
    const key = notificationMail(
      {
        ...base,
        type: 'key.expiring',
        orgId: null,
        clientId: null,
        subject: { kind: 'key', id: 'kid-abcdefghijkl', purpose: 'federation' },
        data: { purpose: 'federation', days_left: 14, max_age_days: 365, not_after: 'x' },
      },
      { toOperators: true },
    )!;
    assert.equal(key.subject, '[Accredit] Federation entity key KID-ABCD… is due for rotation in 14 days');
    const caMail = notificationMail(
      {
        ...base,
        orgId: null,
        subject: { kind: 'ca_certificate', id: 'ca-1', ca_kind: 'issuing' },
        data: { subject: 'CN=Accredit Issuing CA 1', days_left: 30, serial: '01' },
      },
      { toOperators: true },
    )!;
    assert.equal(
      caMail.subject,
      '[Accredit] Issuing CA certificate CN=Accredit Issuing CA 1 expires in 30 days',
    );
    assert.match(
      notificationMail(
        { ...base, type: 'certificate.revoked', data: { reason: 'keyCompromise' } },
        { toOperators: false },
      )!.body,
      /reason: keyCompromise/,
    );
    assert.match(
      notificationMail(
        { ...base, type: 'organisation.suspended', data: {} },
        { organisationName: 'Acme', toOperators: false },
      )!.subject,
      /Acme was suspended/,
    );
    assert.equal(notificationMail({ ...base, type: 'token.revoked' }, { toOperators: true }), undefined);
  });

  test('ok/backoff doubles from one minute up to six hours', () => {
    assert.deepEqual([1, 2, 3, 4].map(mailBackoffMs), [MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE]);
    assert.equal(mailBackoffMs(30), 6 * 60 * MINUTE);
  });
});

const targets = await engineTargets();

for (const target of targets) {
  describe(`notification mail (${target.name})`, { skip: target.skip, timeout: 120_000 }, () => {
    let storage: Storage;
    let ca: CertificateAuthority;
    const sink = new SmtpSink();
    const recipients = directoryRecipients(OPERATORS);

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      await sink.listen();
    });
    after(async () => {
      await sink.close();
      await storage.close();
      await target.cleanup();
    });

    async function partner(name: string, contacts: Array<{ kind: 'security' | 'technical'; email: string }>) {
      const { orgId, clientId } = await storage.transaction(async (tx) => {
        const orgId = await createOrganisation(
          tx,
          { name, contacts: contacts.map((c) => ({ ...c, name: 'Contact' })) },
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
      const csrPem = await createCsr({ privateKey, publicKey });
      const cert = await storage.transaction((tx) =>
        ca.issue(tx, { clientId, csrPem }, { actor: 'operator:test', now: META.now }),
      );
      return { orgId, clientId, cert };
    }

    test('ok/an expiring certificate is mailed to the security contacts only, once', async () => {
      // The notifier's cursor starts here: events before its first pass are not mailed.
      await queueNotifications(storage, recipients, META.now);
      const { cert } = await partner('Mail Bank', [
        { kind: 'security', email: 'sec1@mailbank.example' },
        { kind: 'security', email: 'sec2@mailbank.example' },
        { kind: 'technical', email: 'tech@mailbank.example' },
      ]);
      const now = at(cert.not_after, -7 * DAY + MINUTE);
      await runExpiryMonitor({ storage, now });
      await queueNotifications(storage, recipients, now);
      const transport = createSmtpTransport(smtpConfig(sink.port))!;
      const before = sink.messages.length;
      const result = await deliverDueMail({ storage, transport, from: FROM, now });
      assert.deepEqual(result, { sent: 2, retried: 0, failed: 0 });
      const received = sink.messages.slice(before);
      assert.deepEqual(received.flatMap((m) => m.to).sort(), [
        'sec1@mailbank.example',
        'sec2@mailbank.example',
      ]);
      for (const m of received) {
        assert.equal(m.from, FROM);
        assert.match(m.subject, /^\[Accredit\] Certificate [0-9A-F]{8}… for Payments expires in 6 days$/);
        assert.match(m.raw, /Content-Type: text\/plain/i);
        assert.match(m.messageId, /^<[0-9a-f-]{36}@platform\.example>$/);
        assert.doesNotMatch(m.raw, /PRIVATE KEY/);
      }
      // Queued again (a second pass, a restart): nothing new is queued or sent.
      await queueNotifications(storage, recipients, now);
      const second = await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(sink.port))!,
        from: FROM,
        now: at(now.toISOString(), DAY),
      });
      assert.deepEqual(second, { sent: 0, retried: 0, failed: 0 });
      assert.equal(sink.messages.length, before + 2);
    });

    test('ok/SMTP down: kept with the error, retried after the backoff and delivered; never sent twice', async () => {
      const down = new SmtpSink();
      const port = await down.listen();
      await down.close();
      const { orgId } = await partner('Outage Bank', [{ kind: 'security', email: 'sec@outage.example' }]);
      const now = META.now;
      await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'suspended', META));
      await relayChanges(storage, now);
      await queueNotifications(storage, recipients, now);
      const first = await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(port))!,
        from: FROM,
        now,
      });
      assert.deepEqual(first, { sent: 0, retried: 1, failed: 0 });
      const [row] = (await listMailOutbox(storage.db)).filter((r) => r.recipient === 'sec@outage.example');
      assert.equal(row?.status, 'pending');
      assert.equal(row?.attempts, 1);
      assert.match(row?.last_error ?? '', /ECONNREFUSED|ECONNECTION/);
      assert.equal(row?.event_type, 'organisation.suspended');
      // Before the backoff has passed: not tried again.
      const early = await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(port))!,
        from: FROM,
        now: at(now.toISOString(), 30_000),
      });
      assert.deepEqual(early, { sent: 0, retried: 0, failed: 0 });
      // The server is back (same port); after the backoff the mail goes out.
      const back = new SmtpSink();
      await back.listen(port);
      try {
        const later = at(now.toISOString(), mailBackoffMs(1));
        const delivered = await deliverDueMail({
          storage,
          transport: createSmtpTransport(smtpConfig(port))!,
          from: FROM,
          now: later,
        });
        assert.deepEqual(delivered, { sent: 1, retried: 0, failed: 0 });
        assert.equal(back.messages.length, 1);
        assert.deepEqual(back.messages[0]!.to, ['sec@outage.example']);
        assert.equal(back.messages[0]!.subject, '[Accredit] Outage Bank was suspended');
        const [sent] = (await listMailOutbox(storage.db)).filter((r) => r.recipient === 'sec@outage.example');
        assert.equal(sent?.status, 'sent');
        assert.equal(sent?.attempts, 2);
        // A restart of the notifier (new transport, later clock): nothing is sent again.
        await queueNotifications(storage, recipients, at(later.toISOString(), DAY));
        const again = await deliverDueMail({
          storage,
          transport: createSmtpTransport(smtpConfig(port))!,
          from: FROM,
          now: at(later.toISOString(), DAY),
        });
        assert.deepEqual(again, { sent: 0, retried: 0, failed: 0 });
        assert.equal(back.messages.length, 1);
      } finally {
        await back.close();
      }
    });

    test('fail/a permanent refusal (550) is given up at once; a lapsed claim is tried again', async () => {
      const { orgId } = await partner('Refused Bank', [
        { kind: 'security', email: 'gone@refused.example' },
        { kind: 'security', email: 'ok@refused.example' },
      ]);
      sink.refuse.add('gone@refused.example');
      const now = at(META.now.toISOString(), 2 * DAY);
      await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'suspended', { ...META, now }));
      await relayChanges(storage, now);
      await queueNotifications(storage, recipients, now);
      // A sender that crashed after its claim: the claim lapses and the mail is sent by the next pass.
      let calls = 0;
      const crashing: MailTransport = {
        send: () => {
          calls++;
          return new Promise(() => {});
        },
      };
      void deliverDueMail({
        storage,
        transport: crashing,
        from: FROM,
        now,
        claimMs: 5 * MINUTE,
        concurrency: 1,
      });
      while (calls < 1) await new Promise((r) => setTimeout(r, 10));
      const during = await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(sink.port))!,
        from: FROM,
        now: at(now.toISOString(), MINUTE),
      });
      // The crashed sender holds one of the two: only the other one goes now.
      assert.equal(during.sent + during.failed, 1, 'a claimed mail is not taken by another sender');
      const result = await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(sink.port))!,
        from: FROM,
        now: at(now.toISOString(), 6 * MINUTE),
      });
      assert.equal(result.sent + result.failed, 1, 'the lapsed claim is taken again');
      assert.deepEqual(
        { sent: during.sent + result.sent, failed: during.failed + result.failed },
        { sent: 1, failed: 1 },
      );
      const rows = (await listMailOutbox(storage.db)).filter((r) => r.recipient.endsWith('@refused.example'));
      const gone = rows.find((r) => r.recipient === 'gone@refused.example');
      assert.equal(gone?.status, 'failed');
      assert.match(gone?.last_error ?? '', /550/);
      assert.equal(rows.find((r) => r.recipient === 'ok@refused.example')?.status, 'sent');
    });

    test('ok/CA certificates and keys go to operators; so does an organisation without a security contact', async () => {
      const { orgId, clientId } = await partner('Quiet Bank', [
        { kind: 'technical', email: 'tech@quiet.example' },
      ]);
      const now = at(META.now.toISOString(), 3 * DAY);
      await storage.transaction(async (tx) => {
        await recordPlatformEvent(
          tx,
          {
            type: 'key.expiring',
            orgId: null,
            clientId: null,
            subject: { kind: 'key', id: 'kid-ops-1', purpose: 'software_statement' },
            data: {
              purpose: 'software_statement',
              days_left: 6,
              threshold: 7,
              max_age_days: 365,
              not_after: 'x',
            },
          },
          now,
          { dedupeKey: 'test:key' },
        );
        await recordPlatformEvent(
          tx,
          {
            type: 'certificate.revoked',
            orgId,
            clientId,
            subject: { kind: 'certificate', id: 'abcdef0123456789', x5t_s256: 't' },
            data: { serial: 'abcdef0123456789', reason: 'superseded' },
          },
          now,
          { dedupeKey: 'test:revoked' },
        );
        // Not mailed.
        await recordPlatformEvent(
          tx,
          { type: 'token.revoked', orgId, clientId, subject: { kind: 'token', id: 'j' }, data: {} },
          now,
          { dedupeKey: 'test:token' },
        );
      });
      await queueNotifications(storage, recipients, now);
      const before = sink.messages.length;
      await deliverDueMail({
        storage,
        transport: createSmtpTransport(smtpConfig(sink.port))!,
        from: FROM,
        now,
      });
      const received = sink.messages.slice(before);
      assert.deepEqual(
        received.map((m) => [m.to.join(','), m.subject]).sort(),
        [
          ['ops@platform.example', '[Accredit] Certificate ABCDEF01… of client ' + clientId + ' was revoked'],
          [
            'ops@platform.example',
            '[Accredit] Software statement key KID-OPS-… is due for rotation in 6 days',
          ],
        ].sort(),
      );
      assert.ok(received.every((m) => !m.to.includes('tech@quiet.example')));
    });
  });
}
