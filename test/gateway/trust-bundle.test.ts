import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFedTrustBundle } from '../../src/gateway/trust-bundle.ts';
import { createIssuingCa, createRootCa } from '../../src/pki/index.ts';

const now = new Date();
const root = await createRootCa({ commonName: 'Root', now });
const ca1 = await createIssuingCa({ parent: root, commonName: 'Issuing 1', now });
const ca2 = await createIssuingCa({ parent: root, commonName: 'Issuing 2', now });
const otherRoot = await createRootCa({ commonName: 'Root', now });
const foreign = await createIssuingCa({ parent: otherRoot, commonName: 'Issuing 2', now });
const configured = `${ca1.certPem}${root.certPem}`;

describe('a CA bundle from the enforcement feed', () => {
  test('ok/a new issuing CA under the configured root is installed', () => {
    const checked = checkFedTrustBundle(configured, `${ca2.certPem}${ca1.certPem}${root.certPem}`);
    assert.ok(checked.ok);
    assert.equal(checked.bundle.match(/BEGIN CERTIFICATE/g)?.length, 3);
  });

  test('fail/a different root is never taken from the network', () => {
    const checked = checkFedTrustBundle(configured, `${foreign.certPem}${otherRoot.certPem}`);
    assert.deepEqual(checked, { ok: false, reason: 'the bundle’s root is not the configured one' });
  });

  test('fail/a CA signed by another root, a second root, no root, garbage', () => {
    assert.equal(checkFedTrustBundle(configured, `${foreign.certPem}${root.certPem}`).ok, false);
    assert.equal(checkFedTrustBundle(configured, `${otherRoot.certPem}${root.certPem}`).ok, false);
    assert.equal(checkFedTrustBundle(configured, ca2.certPem).ok, false);
    assert.equal(checkFedTrustBundle(configured, 'not a bundle').ok, false);
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assert.equal(checkFedTrustBundle(configured, broken).ok, false);
  });
});
