import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSecretSealer } from '../../src/platform/shared-signals.ts';

describe('shared signals: push credentials sealed at rest', () => {
  const sealer = createSecretSealer('kek-one-0123456789abcdef0123456789abcdef');
  test('ok/round trip, a fresh nonce each time, the secret never in the sealed text', () => {
    const a = sealer.seal('Bearer receiver-secret');
    const b = sealer.seal('Bearer receiver-secret');
    assert.notEqual(a, b);
    assert.doesNotMatch(a, /receiver-secret/);
    assert.equal(sealer.open(a), 'Bearer receiver-secret');
  });
  test('fail/tampered ciphertext or tag is refused (AES-GCM)', () => {
    const sealed = sealer.seal('Bearer receiver-secret');
    const [v, iv, data, tag] = sealed.split('.');
    const flipped = `${data!.slice(0, -2)}${data!.endsWith('A') ? 'B' : 'A'}${data!.slice(-1)}`;
    assert.throws(() => sealer.open([v, iv, flipped, tag].join('.')));
    assert.throws(() => sealer.open([v, iv, data, `${tag!.slice(0, -1)}A`].join('.')));
    assert.throws(() => sealer.open('v2.x.y.z'));
  });
  test('fail/another KEK cannot open it', () => {
    const other = createSecretSealer('kek-two-0123456789abcdef0123456789abcdef');
    assert.throws(() => other.open(sealer.seal('Bearer receiver-secret')));
  });
});
