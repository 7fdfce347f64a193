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
  test('fail/tampered ciphertext, tag or nonce is refused (AES-GCM)', () => {
    const sealed = sealer.seal('Bearer receiver-secret');
    const parts = sealed.split('.');
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = (bytes[0] as number) ^ 0x01;
      return bytes.toString('base64url');
    };
    for (const index of [1, 2, 3]) {
      const tampered = parts.map((p, i) => (i === index ? flip(p) : p)).join('.');
      assert.throws(() => sealer.open(tampered), `part ${index} tampered`);
    }
    assert.throws(() => sealer.open('v2.x.y.z'));
  });
  test('fail/another KEK cannot open it', () => {
    const other = createSecretSealer('kek-two-0123456789abcdef0123456789abcdef');
    assert.throws(() => other.open(sealer.seal('Bearer receiver-secret')));
  });
});
