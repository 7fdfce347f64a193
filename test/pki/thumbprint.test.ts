import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRootCa, pemToDer, x5tS256 } from '../../src/pki/index.ts';
import { opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

describe('x5tS256', () => {
  it('ok/equals openssl x509 -outform DER | dgst -sha256 | base64url (RFC 8705 §3.1)', async () => {
    const ca = await createRootCa({ commonName: 'Thumbprint Root', now: new Date('2026-01-01T00:00:00Z') });
    const certPath = dir.write('ca.pem', ca.certPem);
    const der = opensslOk(['x509', '-in', certPath, '-outform', 'DER']).stdoutBytes;
    const digest = opensslOk(['dgst', '-sha256', '-binary'], { input: der }).stdoutBytes;
    const expected = digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    assert.equal(x5tS256(ca.certDer), expected);
    assert.equal(x5tS256(pemToDer(ca.certPem, 'CERTIFICATE')), expected);
    assert.equal(x5tS256(new Uint8Array(der)), expected);
    assert.match(expected, /^[A-Za-z0-9_-]{43}$/);
  });
});
