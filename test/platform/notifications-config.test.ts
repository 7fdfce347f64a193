import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { CONFIG_FILE, ConfigError, loadConfig } from '../../src/platform/config.ts';
import { createSmtpTransport } from '../../src/platform/smtp-transport.ts';
import { SmtpSink } from '../support/smtp-sink.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-notify-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

function dataDir(file?: unknown): string {
  const path = mkdtempSync(join(root, 'data-'));
  if (file !== undefined) writeFileSync(join(path, CONFIG_FILE), JSON.stringify(file));
  return path;
}

const message = {
  from: 'accredit@platform.example',
  to: 'sec@bank.example',
  subject: 'test',
  text: 'body',
  messageId: '<1@platform.example>',
};

describe('notifications configuration', () => {
  test('ok/defaults: no SMTP, thresholds 30/14/7/1 hourly, keys due after 365 days', () => {
    const c = loadConfig(dataDir(), {});
    assert.equal(c.notifications.smtp.host, undefined);
    assert.deepEqual(c.expiry, { thresholdDays: [30, 14, 7, 1], intervalMinutes: 60 });
    assert.deepEqual(c.keys, { maxAgeDays: 365 });
    assert.equal(createSmtpTransport(c.notifications, {}), undefined, 'mail is off without a host');
  });

  test('ok/from the file and the environment; the password file is relative to the data directory', () => {
    const dir = dataDir({
      notifications: {
        smtp: {
          host: 'smtp.bank.example',
          port: 465,
          security: 'tls',
          user: 'accredit',
          passwordFile: 'smtp.pw',
        },
        operators: ['ops@bank.example'],
      },
      expiry: { thresholdDays: [60, 30, 7] },
    });
    writeFileSync(join(dir, 'smtp.pw'), 'secret\n', { mode: 0o600 });
    const c = loadConfig(dir, {
      ACCREDIT_SMTP_FROM: 'accredit@bank.example',
      ACCREDIT_KEYS_MAX_AGE_DAYS: '0',
      ACCREDIT_EXPIRY_INTERVAL_MINUTES: '5',
    });
    assert.deepEqual(c.notifications, {
      smtp: {
        host: 'smtp.bank.example',
        port: 465,
        security: 'tls',
        user: 'accredit',
        passwordFile: join(dir, 'smtp.pw'),
        from: 'accredit@bank.example',
        caFile: undefined,
      },
      operators: ['ops@bank.example'],
    });
    assert.deepEqual(c.expiry, { thresholdDays: [60, 30, 7], intervalMinutes: 5 });
    assert.equal(c.keys.maxAgeDays, 0);
    assert.ok(createSmtpTransport(c.notifications, {}));
    assert.deepEqual(
      loadConfig(dataDir(), { ACCREDIT_EXPIRY_THRESHOLD_DAYS: '20, 5' }).expiry.thresholdDays,
      [20, 5],
    );
  });

  const failures: Array<{ name: string; file?: unknown; env?: Record<string, string>; message: RegExp }> = [
    {
      name: 'fail/host without a sender',
      env: { ACCREDIT_SMTP_HOST: 'smtp.bank.example' },
      message: /ACCREDIT_SMTP_HOST: needs notifications\.smtp\.from/,
    },
    {
      name: 'fail/sender that is not an address',
      env: { ACCREDIT_SMTP_HOST: 'smtp.bank.example', ACCREDIT_SMTP_FROM: 'accredit' },
      message: /ACCREDIT_SMTP_FROM: "accredit" is not an e-mail address/,
    },
    {
      name: 'fail/operator that is not an address',
      env: { ACCREDIT_NOTIFICATIONS_OPERATORS: 'ops@bank.example, ops' },
      message: /ACCREDIT_NOTIFICATIONS_OPERATORS\[1\]/,
    },
    {
      name: 'fail/plain SMTP to a remote host (RFC 8314 §3)',
      env: {
        ACCREDIT_SMTP_HOST: 'smtp.bank.example',
        ACCREDIT_SMTP_FROM: 'a@b.example',
        ACCREDIT_SMTP_SECURITY: 'none',
      },
      message: /ACCREDIT_SMTP_SECURITY: none is only allowed for a loopback SMTP host/,
    },
    {
      name: 'fail/credentials over plain SMTP',
      env: {
        ACCREDIT_SMTP_HOST: '127.0.0.1',
        ACCREDIT_SMTP_FROM: 'a@b.example',
        ACCREDIT_SMTP_SECURITY: 'none',
        ACCREDIT_SMTP_USER: 'u',
      },
      message: /ACCREDIT_SMTP_USER: credentials are never sent without TLS/,
    },
    {
      name: 'fail/unknown security',
      env: { ACCREDIT_SMTP_SECURITY: 'ssl' },
      message: /ACCREDIT_SMTP_SECURITY: expected one of tls, starttls, none/,
    },
    {
      name: 'fail/missing password file',
      file: { notifications: { smtp: { passwordFile: 'nope.pw' } } },
      message: /notifications\.smtp\.passwordFile: .*nope\.pw does not exist/,
    },
    {
      name: 'fail/threshold 0',
      env: { ACCREDIT_EXPIRY_THRESHOLD_DAYS: '30,0' },
      message: /ACCREDIT_EXPIRY_THRESHOLD_DAYS\[1\]/,
    },
    {
      name: 'fail/negative key age',
      env: { ACCREDIT_KEYS_MAX_AGE_DAYS: '-1' },
      message: /ACCREDIT_KEYS_MAX_AGE_DAYS/,
    },
  ];
  for (const f of failures) {
    test(f.name, () => {
      assert.throws(
        () => loadConfig(dataDir(f.file), f.env ?? {}),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, f.message);
          return true;
        },
      );
    });
  }

  test('fail/a password file readable by others is refused at start', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'open.pw'), 'secret\n', { mode: 0o644 });
    chmodSync(join(dir, 'open.pw'), 0o644);
    const c = loadConfig(dir, {
      ACCREDIT_SMTP_HOST: 'smtp.bank.example',
      ACCREDIT_SMTP_FROM: 'a@b.example',
      ACCREDIT_SMTP_USER: 'u',
      ACCREDIT_SMTP_PASSWORD_FILE: 'open.pw',
    });
    assert.throws(() => createSmtpTransport(c.notifications, {}), /permissions 644 are too open/);
  });

  test('fail/an ACCREDIT_SMTP_PASSWORD without a user is refused at start', () => {
    const c = loadConfig(dataDir(), {
      ACCREDIT_SMTP_HOST: 'smtp.bank.example',
      ACCREDIT_SMTP_FROM: 'a@b.example',
    });
    assert.throws(() => createSmtpTransport(c.notifications, { ACCREDIT_SMTP_PASSWORD: 'x' }), /no user/);
  });
});

describe('SMTP transport security', { timeout: 60_000 }, () => {
  test('fail/STARTTLS required: a server that does not offer it gets nothing (RFC 3207 §4)', async () => {
    const sink = new SmtpSink();
    const port = await sink.listen();
    try {
      const c = loadConfig(dataDir(), {
        ACCREDIT_SMTP_HOST: '127.0.0.1',
        ACCREDIT_SMTP_PORT: String(port),
        ACCREDIT_SMTP_FROM: 'accredit@platform.example',
        ACCREDIT_SMTP_SECURITY: 'starttls',
      });
      await assert.rejects(createSmtpTransport(c.notifications, {})!.send(message));
      assert.equal(sink.messages.length, 0);
    } finally {
      await sink.close();
    }
  });

  test('ok/implicit TLS with the server certificate verified against notifications.smtp.caFile; fail/unknown CA', async () => {
    const dir = dataDir();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-keyout',
        join(dir, 'smtp.key'),
        '-out',
        join(dir, 'smtp.crt'),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const state: { received?: { to: string[] } } = {};
    const receivedTo = () => state.received?.to;
    const server = new SMTPServer({
      secure: true,
      key: readFileSync(join(dir, 'smtp.key')),
      cert: readFileSync(join(dir, 'smtp.crt')),
      logger: false,
      authMethods: ['PLAIN'],
      onAuth: (auth, _session, callback) => {
        if (auth.username === 'accredit' && auth.password === 's3cret')
          return callback(null, { user: 'accredit' });
        callback(new Error('bad credentials'));
      },
      onData: (stream, session, callback) => {
        stream.resume();
        stream.on('end', () => {
          state.received = { to: session.envelope.rcptTo.map((r) => r.address) };
          callback();
        });
      },
    });
    // The refused handshake (unknown CA) is reported here by the server; the client's side is asserted below.
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.server.address() as { port: number }).port;
    try {
      const env = {
        ACCREDIT_SMTP_HOST: '127.0.0.1',
        ACCREDIT_SMTP_PORT: String(port),
        ACCREDIT_SMTP_FROM: 'accredit@platform.example',
        ACCREDIT_SMTP_SECURITY: 'tls',
        ACCREDIT_SMTP_USER: 'accredit',
      };
      const untrusted = loadConfig(dir, env);
      await assert.rejects(
        createSmtpTransport(untrusted.notifications, { ACCREDIT_SMTP_PASSWORD: 's3cret' })!.send(message),
        /certificate/i,
      );
      assert.equal(receivedTo(), undefined, 'nothing is sent to a server whose certificate does not verify');
      const trusted = loadConfig(dir, { ...env, ACCREDIT_SMTP_CA_FILE: 'smtp.crt' });
      await createSmtpTransport(trusted.notifications, { ACCREDIT_SMTP_PASSWORD: 's3cret' })!.send(message);
      assert.deepEqual(receivedTo(), ['sec@bank.example']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
