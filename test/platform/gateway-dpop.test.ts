import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { test } from 'node:test';
import { gatewayDpop } from '../../src/platform/gateway-dpop.ts';
import { createDpopNonces } from '../../src/shared/dpop/index.ts';
import { createMemoryReplayCache } from '../../src/shared/replay-cache/index.ts';

const KEK = 'k'.repeat(44);

test('ok/the nonce secret is HKDF-SHA-256 of the KEK with info "accredit dpop rs nonce"', () => {
  const expected = Buffer.from(hkdfSync('sha256', KEK, 'accredit', 'accredit dpop rs nonce', 32));
  assert.deepEqual(gatewayDpop({ kek: KEK })?.nonceSecret, expected);
});

test('ok/two nodes of one platform accept each other’s nonces; another KEK’s are refused', () => {
  const now = Date.now();
  const a = createDpopNonces({ secret: gatewayDpop({ kek: KEK })?.nonceSecret as Buffer });
  const b = createDpopNonces({ secret: gatewayDpop({ kek: KEK })?.nonceSecret as Buffer });
  const other = createDpopNonces({ secret: gatewayDpop({ kek: 'x'.repeat(44) })?.nonceSecret as Buffer });
  assert.equal(b.isValid(a.current(now), now), true);
  assert.equal(other.isValid(a.current(now), now), false);
});

test('ok/the shared replay cache is passed through; none means the gateway’s own memory cache', async () => {
  const cache = createMemoryReplayCache();
  assert.equal(gatewayDpop({ kek: KEK, replayCache: cache })?.replayCache, cache);
  assert.equal(gatewayDpop({ kek: KEK })?.replayCache, undefined);
  await cache.close();
});
