import assert from 'node:assert/strict';
import { randomUUID, webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import pino from 'pino';
import { createDpopProofGuard, deriveDpopNonceSecret } from '../../src/authorization-server/dpop/index.ts';
import { createMemoryReplayCache, type ReplayCache } from '../../src/shared/replay-cache/index.ts';

const PATHS = { token: '/token', par: '/request' };

function fakeContext(method: string, path: string, dpop?: string) {
  const headers: Record<string, string> = {};
  const ctx = {
    method,
    path,
    req: { headers: dpop === undefined ? {} : { dpop } },
    status: 404,
    body: undefined as unknown,
    type: '',
    set: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    headers,
  };
  return ctx;
}

async function validProof(): Promise<string> {
  const { publicKey, privateKey } = (await webcrypto.subtle.generateKey(
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['sign', 'verify'],
  )) as webcrypto.CryptoKeyPair;
  return new SignJWT({
    htm: 'POST',
    htu: 'https://as.test/token',
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
    .sign(privateKey);
}

function guardWith(replayCache: ReplayCache) {
  return createDpopProofGuard({
    replayCache,
    clock: () => new Date(),
    paths: PATHS,
    algorithms: ['ES256'],
    skewSeconds: 15,
    logger: pino({ level: 'silent' }),
  });
}

describe('DPoP proof guard', () => {
  test('ok/requests without a proof, other endpoints and other methods pass untouched', async () => {
    const guard = guardWith(createMemoryReplayCache());
    const proof = await validProof();
    for (const [method, path, dpop] of [
      ['POST', '/token', undefined],
      ['GET', '/token', proof],
      ['POST', '/token/introspection', proof],
    ] as const) {
      let called = false;
      const ctx = fakeContext(method, path, dpop);
      await guard(ctx as unknown as KoaContextWithOIDC, async () => {
        called = true;
      });
      assert.equal(called, true, `${method} ${path}`);
      assert.equal(ctx.body, undefined);
    }
  });

  test('fail/the replay cache cannot record the claim: 500 server_error, the request stops (fail closed)', async () => {
    const broken: ReplayCache = {
      claim: async () => {
        throw new Error('connection refused');
      },
      close: async () => {},
    };
    const guard = guardWith(broken);
    const ctx = fakeContext('POST', '/token', await validProof());
    let called = false;
    await guard(ctx as unknown as KoaContextWithOIDC, async () => {
      called = true;
    });
    assert.equal(called, false);
    assert.equal(ctx.status, 500);
    assert.deepEqual(ctx.body, {
      error: 'server_error',
      error_description: 'the DPoP replay cache is unavailable',
    });
    assert.equal(ctx.headers['cache-control'], 'no-store');
  });

  test('ok/the nonce secret is 32 bytes, the same for one KEK, different for another', () => {
    const a = deriveDpopNonceSecret('kek-one-0123456789abcdef0123456789');
    assert.equal(a.length, 32);
    assert.deepEqual(deriveDpopNonceSecret('kek-one-0123456789abcdef0123456789'), a);
    assert.notDeepEqual(deriveDpopNonceSecret('kek-two-0123456789abcdef0123456789'), a);
  });
});
