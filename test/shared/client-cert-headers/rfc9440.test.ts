import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { isRefusal, MAX_HEADER_BYTES, parseRfc9440 } from '../../../src/shared/client-cert-headers/index.ts';
import { byteSequence, type TestPki, testPki } from './certificates.ts';

describe('RFC 9440 Client-Cert / Client-Cert-Chain', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  test('ok/Client-Cert alone: the leaf, no chain', () => {
    const r = parseRfc9440(byteSequence(pki.leafPem), undefined);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.deepEqual(r.chain, []);
    assert.equal(r.source, 'rfc9440');
  });

  test('ok/Client-Cert-Chain: a List of Byte Sequences, in order (§2.2)', () => {
    const chain = `${byteSequence(pki.issuing.certPem)}, ${byteSequence(pki.root.certPem)}`;
    const r = parseRfc9440(byteSequence(pki.leafPem), chain);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.deepEqual(
      r.chain.map((c) => c.fingerprint256),
      [
        new X509Certificate(pki.issuing.certPem).fingerprint256,
        new X509Certificate(pki.root.certPem).fingerprint256,
      ],
    );
  });

  test('ok/parameters on the Byte Sequence are ignored (RFC 8941 §4.2)', () => {
    const r = parseRfc9440(`${byteSequence(pki.leafPem)};x=1`, undefined);
    assert.ok(!isRefusal(r), JSON.stringify(r));
  });

  const refused: Array<[string, () => [string, string | undefined], RegExp]> = [
    ['bare base64, no colons', () => [byteSequence(pki.leafPem).slice(1, -1), undefined], /Byte Sequence/],
    ['a PEM certificate', () => [pki.leafPem, undefined], /Byte Sequence/],
    [
      'two Client-Cert fields joined by a comma',
      () => [`${byteSequence(pki.leafPem)}, ${byteSequence(pki.otherLeafPem)}`, undefined],
      /Byte Sequence/,
    ],
    ['an empty Byte Sequence', () => ['::', undefined], /not a DER X\.509/],
    [
      'bytes that are not a certificate',
      () => [`:${Buffer.from('hello').toString('base64')}:`, undefined],
      /not a DER X\.509/,
    ],
    ['base64url alphabet (RFC 8941 uses base64)', () => [':MIIB-_w==:', undefined], /Byte Sequence/],
    ['a String instead of a Byte Sequence', () => ['"abc"', undefined], /Byte Sequence/],
    ['a chain member that is a Token', () => [byteSequence(pki.leafPem), 'abc'], /List of Byte Sequences/],
    [
      'a chain member that is an Inner List',
      () => [byteSequence(pki.leafPem), `(${byteSequence(pki.issuing.certPem)})`],
      /List of Byte Sequences/,
    ],
    ['a chain that does not parse', () => [byteSequence(pki.leafPem), ':abc'], /List of Byte Sequences/],
    [
      'a chain member that is not a certificate',
      () => [byteSequence(pki.leafPem), ':aGVsbG8=:'],
      /not a DER X\.509/,
    ],
    [
      'a chain of 9 certificates',
      () => [byteSequence(pki.leafPem), Array(9).fill(byteSequence(pki.issuing.certPem)).join(', ')],
      /more than 8/,
    ],
    ['Client-Cert over 16 KiB', () => [`:${'A'.repeat(MAX_HEADER_BYTES)}:`, undefined], /larger than 16384/],
    [
      'Client-Cert-Chain over 16 KiB',
      () => [byteSequence(pki.leafPem), `:${'A'.repeat(MAX_HEADER_BYTES)}:`],
      /larger than 16384/,
    ],
  ];
  for (const [name, input, reason] of refused) {
    test(`fail/${name} → refused`, () => {
      const [cert, chain] = input();
      const r = parseRfc9440(cert, chain);
      assert.ok(isRefusal(r), 'refused');
      assert.match(r.refused, reason);
    });
  }
});
