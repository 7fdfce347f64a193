import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { isRefusal, MAX_HEADER_BYTES, parseNginx } from '../../../src/shared/client-cert-headers/index.ts';
import { type TestPki, testPki, urlEncodedPem } from './certificates.ts';

describe('NGINX $ssl_client_escaped_cert', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  test('ok/URL-encoded PEM leaf', () => {
    const r = parseNginx(urlEncodedPem(pki.leafPem));
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.deepEqual(r.chain, []);
    assert.equal(r.source, 'nginx');
  });

  test('ok/CRLF line endings, as some builds write them', () => {
    const r = parseNginx(encodeURIComponent(pki.leafPem.trim().replaceAll('\n', '\r\n')));
    assert.ok(!isRefusal(r), JSON.stringify(r));
  });

  const refused: Array<[string, () => string, RegExp]> = [
    [
      '$ssl_client_cert (deprecated, tab-folded PEM)',
      () => pki.leafPem.trim().split('\n').join('\n\t'),
      /\$ssl_client_cert.*deprecated.*\$ssl_client_escaped_cert/,
    ],
    ['raw PEM on one line', () => pki.leafPem.trim().replaceAll('\n', ' '), /deprecated/],
    ['a bad %-escape', () => `${urlEncodedPem(pki.leafPem)}%zz`, /bad %-escape/],
    ['two certificates', () => urlEncodedPem(pki.leafPem, pki.issuing.certPem), /exactly one/],
    [
      'a private key beside the certificate',
      () =>
        urlEncodedPem(pki.leafPem) +
        encodeURIComponent('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
      /not a PEM certificate/,
    ],
    [
      'text before the certificate',
      () => encodeURIComponent(`hello\n${pki.leafPem}`),
      /not a PEM certificate/,
    ],
    ['no certificate at all', () => 'hello', /no PEM certificate/],
    [
      'a PEM block that is not DER X.509',
      () => encodeURIComponent('-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n'),
      /not valid DER X\.509/,
    ],
    ['over 16 KiB', () => 'A'.repeat(MAX_HEADER_BYTES + 1), /larger than 16384/],
  ];
  for (const [name, value, reason] of refused) {
    test(`fail/${name} → refused`, () => {
      const r = parseNginx(value(), 'x-ssl-client-cert');
      assert.ok(isRefusal(r), 'refused');
      assert.match(r.refused, reason);
    });
  }
});
