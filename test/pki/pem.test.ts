import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { derToPem, pemToDer } from '../../src/pki/index.ts';

describe('derToPem / pemToDer', () => {
  it('ok/round trip with 64-character lines (RFC 7468 §2)', () => {
    const der = randomBytes(301);
    const pem = derToPem('CERTIFICATE', der);
    const lines = pem.trimEnd().split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines.at(-1), '-----END CERTIFICATE-----');
    for (const line of lines.slice(1, -2)) assert.equal(line.length, 64);
    assert.ok(pemToDer(pem, 'CERTIFICATE').equals(der));
  });

  it('ok/CRLF line endings and explanatory text around the block', () => {
    const der = randomBytes(100);
    const pem = `Subject: whatever\r\n${derToPem('X509 CRL', der).replace(/\n/g, '\r\n')}trailing text\n`;
    assert.ok(pemToDer(pem, 'X509 CRL').equals(der));
  });

  const block = derToPem('CERTIFICATE', randomBytes(60));
  const cases: Array<[string, string]> = [
    ['fail/empty', ''],
    ['fail/no block', 'hello'],
    ['fail/two blocks', block + block],
    ['fail/only BEGIN', '-----BEGIN CERTIFICATE-----\nAAAA\n'],
    ['fail/mismatched labels', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n'],
    ['fail/wrong label', derToPem('X509 CRL', randomBytes(10))],
    ['fail/non-base64 characters', '-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n'],
    [
      'fail/header line',
      '-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END CERTIFICATE-----\n',
    ],
    ['fail/bad padding', '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n'],
    ['fail/non-canonical padding bits', '-----BEGIN CERTIFICATE-----\nAB==\n-----END CERTIFICATE-----\n'],
    ['fail/empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
  ];
  for (const [name, pem] of cases) {
    it(name, () => {
      assert.throws(() => pemToDer(pem, 'CERTIFICATE'), {
        name: 'PkiError',
        code: 'malformed_pem',
        status: 400,
      });
    });
  }
});
