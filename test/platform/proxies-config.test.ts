import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_FILE, ConfigError, loadConfig } from '../../src/platform/config.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-proxies-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

function dataDir(file?: unknown): string {
  const path = mkdtempSync(join(root, 'data-'));
  if (file !== undefined) writeFileSync(join(path, CONFIG_FILE), JSON.stringify(file));
  return path;
}

const HEX = 'AB:'.repeat(31) + 'AB';

describe('config: proxies (ACCREDIT_PROXIES)', () => {
  test('ok/default: none', () => {
    assert.deepEqual(loadConfig(dataDir(), {}).proxies, []);
  });

  test('ok/from accredit.json: every form, a CIDR, a header, pinned thumbprints, a CA file (relative to DIR)', () => {
    const dir = dataDir({
      proxies: [
        { address: '10.0.0.0/24', form: 'nginx', header: 'X-SSL-Cert' },
        { address: '10.0.1.5', form: 'envoy-xfcc', clientCertSha256: [HEX] },
        {
          address: '2001:db8::/64',
          form: 'aws-alb',
          clientCertCaFile: 'proxy-ca.pem',
          clientCertSubject: 'CN=alb',
        },
        { address: '10.0.2.1', form: 'rfc9440' },
      ],
    });
    writeFileSync(join(dir, 'proxy-ca.pem'), '');
    const c = loadConfig(dir, {});
    assert.deepEqual(c.proxies, [
      { address: '10.0.0.0/24', form: 'nginx', header: 'X-SSL-Cert' },
      { address: '10.0.1.5', form: 'envoy-xfcc', clientCertSha256: [HEX] },
      {
        address: '2001:db8::/64',
        form: 'aws-alb',
        clientCertCaFile: join(dir, 'proxy-ca.pem'),
        clientCertSubject: 'CN=alb',
      },
      { address: '10.0.2.1', form: 'rfc9440' },
    ]);
  });

  test('ok/from the environment as JSON; bare addresses mean RFC 9440, as trustedProxies', () => {
    const c = loadConfig(dataDir(), {
      ACCREDIT_PROXIES: '[{"address":"10.0.0.9","form":"envoy-xfcc"},"10.0.0.10"]',
    });
    assert.deepEqual(c.proxies, [
      { address: '10.0.0.9', form: 'envoy-xfcc' },
      { address: '10.0.0.10', form: 'rfc9440' },
    ]);
    assert.deepEqual(loadConfig(dataDir(), { ACCREDIT_PROXIES: '10.0.0.1, 10.0.0.0/8' }).proxies, [
      { address: '10.0.0.1', form: 'rfc9440' },
      { address: '10.0.0.0/8', form: 'rfc9440' },
    ]);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['not JSON', '[{', /ACCREDIT_PROXIES: not a valid JSON array/],
    ['a host name', '[{"address":"proxy.internal","form":"nginx"}]', /ACCREDIT_PROXIES\[0\]\.address/],
    [
      'an unknown form',
      '[{"address":"10.0.0.1","form":"haproxy"}]',
      /\[0\]\.form: expected one of rfc9440, nginx, envoy-xfcc, aws-alb/,
    ],
    ['a missing form', '[{"address":"10.0.0.1"}]', /\[0\]\.form/],
    [
      'a header for Envoy',
      '[{"address":"10.0.0.1","form":"envoy-xfcc","header":"X-Cert"}]',
      /only for form nginx/,
    ],
    [
      'an unknown key',
      '[{"address":"10.0.0.1","form":"nginx","clientCert":"x"}]',
      /\[0\]\.clientCert: not a proxies key/,
    ],
    [
      'thumbprints that are not a list',
      '[{"address":"10.0.0.1","form":"nginx","clientCertSha256":"abc"}]',
      /clientCertSha256: expected a list/,
    ],
    [
      'a thumbprint that is not SHA-256',
      '[{"address":"10.0.0.1","form":"nginx","clientCertSha256":["abc"]}]',
      /clientCertSha256: expected SHA-256/,
    ],
    [
      'a CA file without a subject',
      '[{"address":"10.0.0.1","form":"nginx","clientCertCaFile":"ca.pem"}]',
      /go together/,
    ],
    [
      'a CA file that does not exist',
      '[{"address":"10.0.0.1","form":"nginx","clientCertCaFile":"missing.pem","clientCertSubject":"CN=x"}]',
      /clientCertCaFile .*missing\.pem does not exist/,
    ],
    ['an entry that is a number', '[5]', /\[0\]: expected \{address, form/],
  ];
  test('fail/a trustedProxies entry that is not an address or CIDR → start refused, naming the key', () => {
    assert.throws(
      () => loadConfig(dataDir(), { ACCREDIT_TRUSTED_PROXIES: '10.0.0.1,proxy.internal' }),
      (err: unknown) =>
        err instanceof ConfigError && /ACCREDIT_TRUSTED_PROXIES: "proxy.internal": address/.test(err.message),
    );
    assert.deepEqual(loadConfig(dataDir(), { ACCREDIT_TRUSTED_PROXIES: '10.0.0.0/8' }).trustedProxies, [
      '10.0.0.0/8',
    ]);
  });

  for (const [name, value, message] of refused) {
    test(`fail/${name} → start refused, naming the key`, () => {
      assert.throws(
        () => loadConfig(dataDir(), { ACCREDIT_PROXIES: value }),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});
