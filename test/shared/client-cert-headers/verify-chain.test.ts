import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { createRootCa } from '../../../src/pki/index.ts';
import { chainsToAnchors } from '../../../src/shared/client-cert-headers/index.ts';
import { type TestPki, testPki } from './certificates.ts';

const DAY = 86_400_000;

describe('chainsToAnchors: a forwarded certificate checked as OpenSSL checks a TLS peer', () => {
  let pki: TestPki;
  let root: X509Certificate;
  let issuing: X509Certificate;
  let other: X509Certificate;
  before(async () => {
    pki = await testPki();
    root = new X509Certificate(pki.root.certPem);
    issuing = new X509Certificate(pki.issuing.certPem);
    other = new X509Certificate(
      (await createRootCa({ commonName: 'Other', now: new Date(Date.now() - DAY) })).certPem,
    );
  });
  const now = () => new Date();

  const cases: Array<[string, () => [X509Certificate[], X509Certificate[]], boolean, Date?]> = [
    ['issued by an anchor', () => [[], [issuing]], true],
    ['through a forwarded intermediate to the root anchor', () => [[issuing], [root]], true],
    ['with extra, unrelated certificates in the chain', () => [[other, issuing], [root]], true],
    ['the root anchor, no intermediate forwarded', () => [[], [root]], false],
    ['an anchor of another PKI', () => [[issuing], [other]], false],
    [
      'a leaf in place of the intermediate (not a CA)',
      () => [[new X509Certificate(pki.otherLeafPem)], [root]],
      false,
    ],
  ];
  for (const [name, input, ok] of cases) {
    test(`${ok ? 'ok' : 'fail'}/${name}`, () => {
      const [chain, anchors] = input();
      assert.equal(chainsToAnchors(pki.leaf, chain, anchors, now()), ok);
    });
  }

  test('fail/a leaf past its notAfter', () => {
    assert.equal(chainsToAnchors(pki.leaf, [], [issuing], new Date(Date.now() + 60 * DAY)), false);
  });

  test('fail/a leaf before its notBefore', () => {
    assert.equal(chainsToAnchors(pki.leaf, [], [issuing], new Date(Date.now() - 30 * DAY)), false);
  });
});
