import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm } from '../../src/pki/index.ts';

describe('generateKeyPair', () => {
  const expected: Record<KeyAlgorithm, (d: NodeJS.Dict<unknown>, type: string | undefined) => void> = {
    ES256: (d, type) => {
      assert.equal(type, 'ec');
      assert.equal(d['namedCurve'], 'prime256v1');
    },
    ES384: (d, type) => {
      assert.equal(type, 'ec');
      assert.equal(d['namedCurve'], 'secp384r1');
    },
    PS256: (d, type) => {
      assert.equal(type, 'rsa');
      assert.equal(d['modulusLength'], 3072);
      assert.equal(d['publicExponent'], 65537n);
    },
    EdDSA: (_d, type) => assert.equal(type, 'ed25519'),
  };
  for (const alg of KEY_ALGORITHMS) {
    it(`ok/${alg}`, () => {
      const { privateKey, publicKey } = generateKeyPair(alg);
      assert.equal(privateKey.type, 'private');
      assert.equal(publicKey.type, 'public');
      expected[alg]({ ...(publicKey.asymmetricKeyDetails ?? {}) }, publicKey.asymmetricKeyType);
    });
  }

  for (const alg of ['RS256', 'ES512', 'none', '']) {
    it(`fail/${alg || 'empty'}`, () => {
      assert.throws(() => generateKeyPair(alg as KeyAlgorithm), {
        name: 'PkiError',
        code: 'unsupported_key_algorithm',
      });
    });
  }
});
