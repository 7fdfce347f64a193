import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  isRefusal,
  MAX_HEADER_BYTES,
  parseEnvoyXfcc,
  splitXfcc,
} from '../../../src/shared/client-cert-headers/index.ts';
import { sha256Hex, type TestPki, testPki, urlEncodedPem } from './certificates.ts';

describe('Envoy x-forwarded-client-cert', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  /** One element as Envoy writes it with set_current_client_cert_details cert, chain, subject, dns. */
  const element = (pem: string, extra = '') =>
    `By=spiffe://proxy.test;Hash=${sha256Hex(pem)};Cert="${urlEncodedPem(pem)}";Subject="CN=client,O=Test\\"Org\\"";DNS=a.test;DNS=b.test${extra}`;

  test('ok/grammar: elements by ",", pairs by ";", quoted values with \\" escapes, keys case-insensitive', () => {
    assert.deepEqual(splitXfcc('By=a;subject="x,y;z=\\"q\\"",HASH=ff; URI=u'), [
      [
        ['by', 'a'],
        ['subject', 'x,y;z="q"'],
      ],
      [
        ['hash', 'ff'],
        ['uri', 'u'],
      ],
    ]);
  });

  test('ok/Cert with a matching Hash; informative keys ignored', () => {
    const r = parseEnvoyXfcc(element(pki.leafPem));
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.deepEqual(r.chain, []);
    assert.equal(r.source, 'envoy-xfcc');
  });

  test('ok/Chain (leaf included, as Envoy documents) gives the intermediates', () => {
    const r = parseEnvoyXfcc(
      `Cert="${urlEncodedPem(pki.leafPem)}";Chain="${urlEncodedPem(pki.leafPem, pki.issuing.certPem)}"`,
    );
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.equal(r.chain.length, 1);
  });

  test('ok/Chain alone: its first certificate is the leaf', () => {
    const r = parseEnvoyXfcc(`Chain=${urlEncodedPem(pki.leafPem, pki.issuing.certPem)}`);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
  });

  test('ok/several elements (APPEND_FORWARD): the LAST one, which our proxy appended, is used', () => {
    // The first element is whatever came before our proxy — possibly the client itself.
    const r = parseEnvoyXfcc(`${element(pki.otherLeafPem)},${element(pki.leafPem)}`);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
  });

  test('ok/two header lines (Node joins them with ", "): still the last element', () => {
    const r = parseEnvoyXfcc(`${element(pki.otherLeafPem)}, ${element(pki.leafPem)}`);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
  });

  test('ok/an uppercase Hash matches too', () => {
    const r = parseEnvoyXfcc(
      `Hash=${sha256Hex(pki.leafPem).toUpperCase()};Cert=${urlEncodedPem(pki.leafPem)}`,
    );
    assert.ok(!isRefusal(r), JSON.stringify(r));
  });

  const refused: Array<[string, () => string, RegExp]> = [
    [
      'a forged Hash (another certificate’s)',
      () => `Hash=${sha256Hex(pki.otherLeafPem)};Cert=${urlEncodedPem(pki.leafPem)}`,
      /Hash is not the SHA-256 of Cert/,
    ],
    ['a Hash that is not hex SHA-256', () => `Hash=abc;Cert=${urlEncodedPem(pki.leafPem)}`, /Hash is not/],
    [
      'the last element without Cert (only Hash/Subject forwarded)',
      () => `${element(pki.leafPem)},By=x;Hash=${sha256Hex(pki.leafPem)}`,
      /no Cert/,
    ],
    [
      'Cert twice in one element',
      () => `Cert=${urlEncodedPem(pki.leafPem)};Cert=${urlEncodedPem(pki.otherLeafPem)}`,
      /cert appears twice/,
    ],
    [
      'Chain that does not start with Cert',
      () => `Cert=${urlEncodedPem(pki.leafPem)};Chain=${urlEncodedPem(pki.otherLeafPem)}`,
      /Chain does not start with Cert/,
    ],
    [
      'Cert holding two certificates',
      () => `Cert=${urlEncodedPem(pki.leafPem, pki.otherLeafPem)}`,
      /more than 1/,
    ],
    ['an unterminated quoted value', () => `Cert="${urlEncodedPem(pki.leafPem)}`, /unterminated/],
    ['an unquoted value with "="', () => 'By=a=b', /unquoted value/],
    ['a pair without "="', () => 'By', /key=value/],
    ['an empty element', () => `Cert=${urlEncodedPem(pki.leafPem)},`, /key=value/],
    ['garbage after a quoted value', () => 'By="a"b', /expected , or ;/],
    ['a bad %-escape in Cert', () => 'Cert=%zz', /bad %-escape/],
    ['over 16 KiB', () => `Cert=${'A'.repeat(MAX_HEADER_BYTES)}`, /larger than 16384/],
    [
      'a Chain of 10 certificates',
      () => `Chain=${urlEncodedPem(...Array(10).fill(pki.leafPem))}`,
      /more than 9/,
    ],
  ];
  for (const [name, value, reason] of refused) {
    test(`fail/${name} → refused`, () => {
      const r = parseEnvoyXfcc(value());
      assert.ok(isRefusal(r), 'refused');
      assert.match(r.refused, reason);
    });
  }
});
