import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildCrl,
  type CaMaterial,
  checkChainMaterial,
  createIssuingCa,
  createRootCa,
} from '../../src/pki/index.ts';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const HOUR = 3_600_000;

async function chain(name = 'Accredit') {
  const root = await createRootCa({ commonName: `${name} Root CA`, now: new Date(NOW.getTime() - HOUR) });
  const issuing = await createIssuingCa({
    parent: root,
    commonName: `${name} Issuing CA`,
    now: new Date(NOW.getTime() - HOUR),
  });
  return { root, issuing, bundle: `${issuing.certPem}${root.certPem}` };
}

const crl = (issuer: CaMaterial, nextUpdate = new Date(NOW.getTime() + 24 * HOUR), entries = 0) =>
  buildCrl({
    issuer,
    crlNumber: 7,
    thisUpdate: new Date(NOW.getTime() - HOUR),
    nextUpdate,
    entries: Array.from({ length: entries }, (_, i) => ({
      serialHex: `0${i + 1}`.padStart(2, '0'),
      revokedAt: NOW,
      reason: 'keyCompromise' as const,
    })),
  });

const refused = (code: string) => (err: unknown) => {
  assert.equal((err as { code?: string }).code, code, String(err));
  return true;
};

describe('checkChainMaterial: what an edge is given is checked before it is written', async () => {
  const a = await chain();
  const other = await chain('Other');

  test('ok/one root, the CA it signed, a CRL for each, in date', async () => {
    const checked = await checkChainMaterial({
      bundlePem: a.bundle,
      crls: [await crl(a.root), await crl(a.issuing, undefined, 2)],
      now: NOW,
      pinnedBundlePem: a.bundle,
    });
    assert.equal(checked.rootPem, a.root.certPem);
    assert.deepEqual(checked.intermediatePems, [a.issuing.certPem]);
    assert.deepEqual(
      checked.crls.map((c) => [c.level, c.crlNumber, c.revoked]),
      [
        ['root', 7, 0],
        ['issuing', 7, 2],
      ],
    );
    assert.match(checked.crls[0]?.pem ?? '', /^-----BEGIN X509 CRL-----\n/);
  });

  test('fail/a different root than the kit trusts is never taken from the network', async () => {
    await assert.rejects(
      checkChainMaterial({
        bundlePem: other.bundle,
        crls: [await crl(other.root), await crl(other.issuing)],
        now: NOW,
        pinnedBundlePem: a.bundle,
      }),
      refused('root_changed'),
    );
  });

  test('fail/a CRL signed by another key than its issuer’s', async () => {
    // Same issuer name, other key: the name matches, the signature does not.
    const impostor = await createRootCa({
      commonName: 'Accredit Root CA',
      now: new Date(NOW.getTime() - HOUR),
    });
    await assert.rejects(
      checkChainMaterial({
        bundlePem: a.bundle,
        crls: [await crl(impostor), await crl(a.issuing)],
        now: NOW,
      }),
      refused('invalid_crl'),
    );
  });

  test('fail/a CRL past its nextUpdate (nginx would refuse every client with it)', async () => {
    await assert.rejects(
      checkChainMaterial({
        bundlePem: a.bundle,
        crls: [await crl(a.root), await crl(a.issuing, new Date(NOW.getTime() - 1000))],
        now: NOW,
      }),
      refused('stale_crl'),
    );
  });

  test('fail/a CA level without its CRL', async () => {
    await assert.rejects(
      checkChainMaterial({ bundlePem: a.bundle, crls: [await crl(a.issuing)], now: NOW }),
      refused('missing_crl'),
    );
  });

  test('fail/bundles that are not one root and the CAs it signed', async () => {
    const crls = [await crl(a.root), await crl(a.issuing)];
    for (const bundlePem of [
      '',
      'not pem',
      a.issuing.certPem,
      `${a.bundle}${other.root.certPem}`,
      `${other.issuing.certPem}${a.root.certPem}`,
      `${a.bundle}-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n`,
    ]) {
      await assert.rejects(
        checkChainMaterial({ bundlePem, crls, now: NOW }),
        refused('invalid_bundle'),
        bundlePem,
      );
    }
  });

  test('fail/garbage where a CRL should be', async () => {
    await assert.rejects(
      checkChainMaterial({ bundlePem: a.bundle, crls: [Buffer.from('<html>oops</html>')], now: NOW }),
      refused('invalid_crl'),
    );
  });
});
