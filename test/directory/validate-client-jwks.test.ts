import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { exportJWK, type JWK } from 'jose';
import { lintClientJwks } from '../../src/directory/index.ts';
import { selfSignedCredential } from '../gateway/fixture.ts';

const registered = await selfSignedCredential('client');
const other = await selfSignedCredential('someone-else');
const plain = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
const withX5c = (x5c: unknown): JWK => ({ ...registered.jwk, x5c }) as unknown as JWK;

describe('client JWK Sets (RFC 7517)', () => {
  const ok: Array<[string, JWK]> = [
    ['ok/a public EC key', plain],
    ['ok/x5c whose first certificate certifies the key (RFC 7517 §4.7)', registered.jwk],
    ['ok/x5c with a chain after the leaf', withX5c([registered.derBase64, other.derBase64])],
  ];
  for (const [name, jwk] of ok) {
    test(name, () => assert.deepEqual(lintClientJwks({ keys: [jwk] }), []));
  }

  const fail: Array<[string, JWK, RegExp]> = [
    ['fail/x5c nested arrays', withX5c([[registered.derBase64]]), /array of 1 to 10/],
    ['fail/x5c a string', withX5c(registered.derBase64), /array of 1 to 10/],
    ['fail/x5c empty', withX5c([]), /array of 1 to 10/],
    [
      'fail/x5c in base64url (§4.7: standard base64)',
      withX5c([registered.derBase64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')]),
      /base64 DER/,
    ],
    ['fail/x5c not a certificate', withX5c([Buffer.from('not a certificate').toString('base64')]), /DER/],
    ['fail/x5c certifies another key (§4.7 MUST match)', withX5c([other.derBase64]), /does not certify/],
    ['fail/kid not a string', { ...plain, kid: 7 } as unknown as JWK, /must be a string/],
    ['fail/key_ops not strings', { ...plain, key_ops: [['verify']] } as unknown as JWK, /array of strings/],
  ];
  for (const [name, jwk, message] of fail) {
    test(name, () => {
      const findings = lintClientJwks({ keys: [jwk] });
      assert.ok(
        findings.some((f) => message.test(f.message)),
        JSON.stringify(findings),
      );
    });
  }
});
