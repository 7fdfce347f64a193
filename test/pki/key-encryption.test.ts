import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecureContext } from 'node:tls';
import {
  createRootCa,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  issueServerCertificate,
  KEY_ALGORITHMS,
  PkiError,
} from '../../src/pki/index.ts';

const KEK = 'k'.repeat(16) + 'correct-horse-battery-staple';
const now = new Date('2026-02-01T00:00:00Z');

describe('encryptPrivateKey / decryptPrivateKey', () => {
  for (const alg of KEY_ALGORITHMS) {
    it(`ok/${alg} round trip`, () => {
      const { privateKey, publicKey } = generateKeyPair(alg);
      const pem = encryptPrivateKey(privateKey, KEK);
      assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      assert.doesNotMatch(pem, /BEGIN PRIVATE KEY/);
      const back = decryptPrivateKey(pem, KEK);
      assert.ok(back.equals(privateKey));
      const data = Buffer.from('proof');
      const hash = alg === 'EdDSA' ? null : 'sha256';
      assert.ok(verify(hash, data, createPublicKey(back), sign(hash, data, privateKey)));
      assert.ok(createPublicKey(back).equals(publicKey));
    });
  }

  it('ok/each encryption is salted', () => {
    const { privateKey } = generateKeyPair('ES256');
    assert.notEqual(encryptPrivateKey(privateKey, KEK), encryptPrivateKey(privateKey, KEK));
  });

  it('fail/wrong KEK is kek_mismatch and leaks nothing', () => {
    const { privateKey } = generateKeyPair('ES256');
    const pem = encryptPrivateKey(privateKey, KEK);
    const plain = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    for (const wrong of [`${KEK}x`, KEK.slice(1), 'x']) {
      assert.throws(
        () => decryptPrivateKey(pem, wrong),
        (err: unknown) => {
          assert.ok(err instanceof PkiError);
          assert.equal(err.code, 'kek_mismatch');
          assert.equal(err.status, 500);
          assert.equal(err.expose, false);
          assert.equal(err.cause, undefined);
          for (const secret of [wrong, KEK, plain, pem]) assert.ok(!err.message.includes(secret));
          return true;
        },
      );
    }
  });

  it('fail/plaintext PKCS#8 is refused even though OpenSSL would load it', () => {
    const { privateKey } = generateKeyPair('ES256');
    const plain = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => decryptPrivateKey(plain, KEK), { name: 'PkiError', code: 'malformed_key' });
  });

  const malformed: Array<[string, string]> = [
    ['fail/empty', ''],
    ['fail/garbage', 'not a key'],
    ['fail/truncated', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n'],
  ];
  for (const [name, pem] of malformed) {
    it(name, () => {
      assert.throws(
        () => decryptPrivateKey(pem, KEK),
        (err: unknown) => {
          assert.ok(err instanceof PkiError);
          assert.ok(['malformed_key', 'kek_mismatch'].includes(err.code), err.code);
          return true;
        },
      );
    });
  }

  it('fail/empty KEK', () => {
    const { privateKey } = generateKeyPair('ES256');
    assert.throws(() => encryptPrivateKey(privateKey, ''), { name: 'PkiError', code: 'invalid_kek' });
    assert.throws(() => decryptPrivateKey('x', ''), { name: 'PkiError', code: 'invalid_kek' });
  });

  it('fail/public key', () => {
    const { publicKey } = generateKeyPair('ES256');
    assert.throws(() => encryptPrivateKey(publicKey, KEK), { name: 'PkiError', code: 'invalid_key' });
  });

  for (const alg of ['ES256', 'PS256'] as const) {
    it(`ok/${alg} tls.createSecureContext loads { key, passphrase } directly`, async () => {
      const ca = await createRootCa({ commonName: 'TLS Root', now });
      const { privateKey, publicKey } = generateKeyPair(alg);
      const server = await issueServerCertificate({
        issuer: ca,
        publicKey,
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ipAddresses: [],
        now,
      });
      const key = encryptPrivateKey(privateKey, KEK);
      assert.doesNotThrow(() => createSecureContext({ key, passphrase: KEK, cert: server.certPem }));
      assert.throws(() => createSecureContext({ key, passphrase: `${KEK}!`, cert: server.certPem }));
    });
  }
});
