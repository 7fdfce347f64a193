import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createDpopNonces } from '../../src/shared/dpop/index.ts';

const secret = randomBytes(32);

test('ok/a nonce is valid on every node sharing the secret, in its window and the next', () => {
  const one = createDpopNonces({ secret, windowSeconds: 60 });
  const two = createDpopNonces({ secret, windowSeconds: 60 });
  const t = 1_800_000_000_000;
  const nonce = one.current(t);
  assert.equal(one.current(t + 1000), nonce, 'stable within a window');
  assert.equal(two.isValid(nonce, t), true);
  assert.equal(two.isValid(nonce, t + 60_000), true, 'next window');
  assert.equal(two.isValid(nonce, t + 120_000), false, 'two windows later');
  assert.equal(two.isValid(nonce, t - 60_000), false, 'from the future');
  assert.notEqual(one.current(t + 60_000), nonce, 'it rotates');
});

test('fail/nonces of another secret, tampered, malformed or oversized are refused', () => {
  const t = 1_800_000_000_000;
  const ours = createDpopNonces({ secret, windowSeconds: 60 });
  const theirs = createDpopNonces({ secret: randomBytes(32), windowSeconds: 60 });
  const nonce = ours.current(t);
  assert.equal(ours.isValid(theirs.current(t), t), false);
  const raw = Buffer.from(nonce, 'base64url');
  raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
  assert.equal(ours.isValid(raw.toString('base64url'), t), false);
  for (const bad of ['', 'x', `${nonce}=`, `${nonce}A`, 'A'.repeat(65), nonce.slice(1)]) {
    assert.equal(ours.isValid(bad, t), false, bad);
  }
  assert.throws(() => createDpopNonces({ secret: randomBytes(16) }), /at least 32 bytes/);
});
