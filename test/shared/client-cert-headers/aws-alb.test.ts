import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { isRefusal, MAX_HEADER_BYTES, parseAwsAlb } from '../../../src/shared/client-cert-headers/index.ts';
import { albEncodedPem, type TestPki, testPki } from './certificates.ts';

describe('AWS ALB X-Amzn-Mtls-Clientcert (passthrough) and -Leaf (verify)', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  test('ok/passthrough: the whole chain, leaf first; + = / kept literal', () => {
    const value = albEncodedPem(pki.leafPem, pki.issuing.certPem);
    assert.ok(!value.includes('%2B') && !value.includes('%2F'), 'ALB leaves + and / unescaped');
    const r = parseAwsAlb(value, undefined);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.equal(r.chain.length, 1);
    assert.equal(r.source, 'aws-alb');
  });

  test('ok/verify mode: the leaf alone', () => {
    const r = parseAwsAlb(undefined, albEncodedPem(pki.leafPem));
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.ok(r.leaf.raw.equals(pki.leaf.raw));
    assert.deepEqual(r.chain, []);
  });

  test('ok/both headers naming the same leaf', () => {
    const r = parseAwsAlb(albEncodedPem(pki.leafPem, pki.issuing.certPem), albEncodedPem(pki.leafPem));
    assert.ok(!isRefusal(r), JSON.stringify(r));
  });

  const refused: Array<[string, () => [string | undefined, string | undefined], RegExp]> = [
    [
      'the two headers naming different leaves',
      () => [albEncodedPem(pki.leafPem), albEncodedPem(pki.otherLeafPem)],
      /different certificates/,
    ],
    [
      'a leaf header holding two certificates',
      () => [undefined, albEncodedPem(pki.leafPem, pki.issuing.certPem)],
      /exactly one/,
    ],
    ['a bad %-escape', () => ['%E0%A4%A', undefined], /bad %-escape/],
    [
      'a chain of 10 certificates (leaf + 9)',
      () => [albEncodedPem(...Array(10).fill(pki.leafPem)), undefined],
      /more than 9/,
    ],
    ['over 16 KiB', () => ['A'.repeat(MAX_HEADER_BYTES + 1), undefined], /larger than 16384/],
    ['no certificate', () => ['hello', undefined], /no PEM certificate/],
  ];
  for (const [name, input, reason] of refused) {
    test(`fail/${name} → refused`, () => {
      const [chain, leaf] = input();
      const r = parseAwsAlb(chain, leaf);
      assert.ok(isRefusal(r), 'refused');
      assert.match(r.refused, reason);
    });
  }
});
