import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { loadUpstreamCredentials } from '../../src/platform/upstream-credentials.ts';
import { type ClientCredential, selfSignedCredential } from '../gateway/fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-upstream-credentials-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SECRET = 'Zq8-upstream-secret-0123456789abcdefXYZ';
const UPSTREAM = 'https://api.internal.example';

/** A data directory with `content` in upstream.secret at `mode` (no file when content is undefined). */
function dataDir(content: string | undefined, mode = 0o600): string {
  const dir = mkdtempSync(join(root, 'data-'));
  if (content !== undefined) {
    writeFileSync(join(dir, 'upstream.secret'), content, { mode });
    chmodSync(join(dir, 'upstream.secret'), mode);
  }
  return dir;
}

const load = (dir: string, env: NodeJS.ProcessEnv) =>
  loadUpstreamCredentials(loadConfig(dir, { ACCREDIT_UPSTREAM_URL: UPSTREAM, ...env })).secret;

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    assert.ok(!err.message.includes(SECRET), 'the secret must not be in the message');
    return true;
  });
}

describe('gateway.upstreamSecretFile', () => {
  test('ok/relative to the data directory, mode 0600, trimmed', () => {
    const dir = dataDir(`${SECRET}\n`);
    assert.equal(load(dir, { ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }), SECRET);
    assert.equal(
      loadConfig(dir, { ACCREDIT_UPSTREAM_URL: UPSTREAM, ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' })
        .gateway.upstreamSecretFile,
      join(dir, 'upstream.secret'),
    );
  });

  test('ok/an absolute path from accredit.json; 0400 is owner-only too', () => {
    const dir = dataDir(SECRET, 0o400);
    writeFileSync(
      join(dir, 'accredit.json'),
      JSON.stringify({ gateway: { upstream: UPSTREAM, upstreamSecretFile: join(dir, 'upstream.secret') } }),
    );
    assert.equal(loadUpstreamCredentials(loadConfig(dir, {})).secret, SECRET);
  });

  test('ok/none configured: undefined (the gateway warns at start-up)', () => {
    assert.deepEqual(
      loadUpstreamCredentials(loadConfig(dataDir(undefined), { ACCREDIT_UPSTREAM_URL: UPSTREAM })),
      {
        secret: undefined,
        tls: undefined,
      },
    );
  });

  const unsafe: Array<[string, number]> = [
    ['fail/a secret file readable by others (0644) is refused with the chmod to run', 0o644],
    ['fail/a secret file readable by the group (0640) is refused', 0o640],
    ['fail/a secret file writable by others (0602) is refused', 0o602],
  ];
  for (const [name, mode] of unsafe) {
    test(name, () => {
      const dir = dataDir(SECRET, mode);
      rejects(
        () => load(dir, { ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }),
        new RegExp(
          `^gateway\\.upstreamSecretFile \\(ACCREDIT_UPSTREAM_SECRET_FILE\\): .*permissions ${mode.toString(8)} are too open; run chmod 600 `,
        ),
      );
    });
  }

  const bad: Array<[string, string | undefined, RegExp]> = [
    ['fail/a missing file', undefined, /is not a file$/],
    ['fail/a secret shorter than 32 characters', 's'.repeat(31), /at least 32 visible ASCII characters/],
    ['fail/a secret with a space', `${'s'.repeat(20)} ${'s'.repeat(20)}`, /at least 32 visible ASCII/],
    [
      'fail/a secret that would split the header',
      `${'s'.repeat(32)}\r\nx-accredit-org-id: org_evil`,
      /visible ASCII/,
    ],
    ['fail/an empty file', '', /at least 32/],
  ];
  for (const [name, content, message] of bad) {
    test(name, () => {
      rejects(() => load(dataDir(content), { ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }), message);
    });
  }

  test('fail/a directory instead of a file', () => {
    const dir = dataDir(undefined);
    mkdirSync(join(dir, 'upstream.secret'), { mode: 0o700 });
    rejects(() => load(dir, { ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }), /is not a file$/);
  });

  test('fail/set without gateway.upstream: the embedded sample API has its own per-start secret', () => {
    const dir = dataDir(SECRET);
    rejects(
      () => loadConfig(dir, { ACCREDIT_UPSTREAM_SECRET_FILE: 'upstream.secret' }),
      /^ACCREDIT_UPSTREAM_SECRET_FILE: only for gateway\.upstream/,
    );
  });
});

describe('gateway.upstreamCaFile, upstreamClientCertFile, upstreamClientKeyFile', () => {
  let mine: ClientCredential;
  let other: ClientCredential;
  before(async () => {
    mine = await selfSignedCredential('gateway');
    other = await selfSignedCredential('someone-else');
  });

  /** A data directory holding ca.pem, client.pem and client.key (mode `keyMode`). */
  function tlsDir(keyPem: string, keyMode = 0o600): string {
    const dir = dataDir(undefined);
    writeFileSync(join(dir, 'ca.pem'), other.certPem);
    writeFileSync(join(dir, 'client.pem'), mine.certPem);
    writeFileSync(join(dir, 'client.key'), keyPem, { mode: keyMode });
    chmodSync(join(dir, 'client.key'), keyMode);
    return dir;
  }
  const FILES = {
    ACCREDIT_UPSTREAM_CA_FILE: 'ca.pem',
    ACCREDIT_UPSTREAM_CLIENT_CERT_FILE: 'client.pem',
    ACCREDIT_UPSTREAM_CLIENT_KEY_FILE: 'client.key',
  };
  const tlsOf = (dir: string, env: NodeJS.ProcessEnv) =>
    loadUpstreamCredentials(loadConfig(dir, { ACCREDIT_UPSTREAM_URL: UPSTREAM, ...env })).tls;

  test('ok/the CA, the client certificate and its key, relative to the data directory', () => {
    const dir = tlsDir(mine.keyPem);
    assert.deepEqual(tlsOf(dir, FILES), { ca: other.certPem, cert: mine.certPem, key: mine.keyPem });
    assert.deepEqual(tlsOf(dir, { ACCREDIT_UPSTREAM_CA_FILE: 'ca.pem' }), { ca: other.certPem });
  });

  test('fail/a client key readable by others (0644) is refused with the chmod to run', () => {
    rejects(
      () => tlsOf(tlsDir(mine.keyPem, 0o644), FILES),
      /^gateway\.upstreamClientKeyFile \(ACCREDIT_UPSTREAM_CLIENT_KEY_FILE\): .* too open; run chmod 600 /,
    );
  });

  test('fail/a key that is not the certificate’s', () => {
    rejects(() => tlsOf(tlsDir(other.keyPem), FILES), /client\.key is not the key of .*client\.pem$/);
  });

  test('fail/a key file that holds no key', () => {
    rejects(() => tlsOf(tlsDir(mine.certPem), FILES), /is not an unencrypted PEM private key$/);
  });

  test('fail/a CA file that holds no certificate', () => {
    const dir = tlsDir(mine.keyPem);
    writeFileSync(join(dir, 'ca.pem'), 'not a certificate');
    rejects(
      () => tlsOf(dir, FILES),
      /^gateway\.upstreamCaFile \(ACCREDIT_UPSTREAM_CA_FILE\): .* is not a PEM certificate$/,
    );
  });

  const crossKey: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    [
      'fail/TLS files for an http upstream',
      { ...FILES, ACCREDIT_UPSTREAM_URL: 'http://api.internal:8080' },
      /^ACCREDIT_UPSTREAM_CA_FILE: only for an https:\/\/ gateway\.upstream/,
    ],
    [
      'fail/TLS files without an upstream',
      { ACCREDIT_UPSTREAM_CA_FILE: 'ca.pem' },
      /^ACCREDIT_UPSTREAM_CA_FILE: only for an https:\/\/ gateway\.upstream/,
    ],
    [
      'fail/a client certificate without its key',
      { ACCREDIT_UPSTREAM_URL: UPSTREAM, ACCREDIT_UPSTREAM_CLIENT_CERT_FILE: 'client.pem' },
      /^ACCREDIT_UPSTREAM_CLIENT_CERT_FILE: .* go together$/,
    ],
    [
      'fail/a client key without its certificate',
      { ACCREDIT_UPSTREAM_URL: UPSTREAM, ACCREDIT_UPSTREAM_CLIENT_KEY_FILE: 'client.key' },
      /^ACCREDIT_UPSTREAM_CLIENT_KEY_FILE: .* go together$/,
    ],
  ];
  for (const [name, env, message] of crossKey) {
    test(name, () => {
      rejects(() => loadConfig(tlsDir(mine.keyPem), env), message);
    });
  }
});
