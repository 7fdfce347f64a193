import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BuildCrlOptions,
  buildCrl,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  crlDerToPem,
  generateKeyPair,
  issueServerCertificate,
  KEY_ALGORITHMS,
  pemToDer,
  type RevocationReason,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import { opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

const now = new Date('2026-05-01T00:00:00Z');
const HOUR = 3_600_000;
let root: CaMaterial;
let issuing: CaMaterial;

before(async () => {
  root = await createRootCa({ commonName: 'Root', now });
  issuing = await createIssuingCa({ parent: root, commonName: 'Issuing', organization: 'Acme', now });
});

function options(overrides: Partial<BuildCrlOptions> = {}): BuildCrlOptions {
  return {
    issuer: issuing,
    crlNumber: 1,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 24 * HOUR),
    entries: [],
    ...overrides,
  };
}

function crlText(der: Buffer): string {
  return opensslOk(['crl', '-inform', 'DER', '-noout', '-text'], { input: der }).stdout;
}

describe('buildCrl', () => {
  it('ok/empty v2 CRL with CRL number and AKI, signature verifies against the issuer', async () => {
    const der = await buildCrl(options({ crlNumber: 7 }));
    const t = crlText(der);
    assert.match(t, /Version 2 \(0x1\)/);
    assert.match(t, /Issuer: O ?= ?Acme, CN ?= ?Issuing/);
    assert.match(t, /Last Update: May {2}1 00:00:00 2026 GMT/);
    assert.match(t, /Next Update: May {2}2 00:00:00 2026 GMT/);
    assert.match(t, /X509v3 CRL Number:\s*\n\s+7\n/);
    assert.match(t, /X509v3 Authority Key Identifier/);
    assert.match(t, /No Revoked Certificates/);
    const issuerPath = dir.write('issuer.pem', issuing.certPem);
    const crlPath = dir.write('empty.crl', der);
    const check = opensslOk(['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', issuerPath, '-noout']);
    assert.match(check.stderr + check.stdout, /verify OK/);
    const parsed = new x509.X509Crl(der);
    assert.ok(
      await parsed.verify({ publicKey: new x509.X509Certificate(pemToDer(issuing.certPem, 'CERTIFICATE')) }),
    );
  });

  it('ok/entries with reason codes; unspecified carries no reason extension (RFC 5280 §5.3.1)', async () => {
    const reasons: RevocationReason[] = [
      'unspecified',
      'keyCompromise',
      'cACompromise',
      'affiliationChanged',
      'superseded',
      'cessationOfOperation',
      'privilegeWithdrawn',
      'aACompromise',
    ];
    const entries = reasons.map((reason, i) => ({
      serialHex: `7${i}${'ab'.repeat(19)}`.slice(0, 40),
      revokedAt: new Date(now.getTime() - (i + 1) * HOUR),
      reason,
    }));
    const der = await buildCrl(options({ entries }));
    const parsed = new x509.X509Crl(der);
    assert.equal(parsed.entries.length, reasons.length);
    for (const [i, entry] of parsed.entries.entries()) {
      const expected = entries[i];
      assert.ok(expected);
      assert.equal(entry.serialNumber, expected.serialHex);
      assert.deepEqual(entry.revocationDate, expected.revokedAt);
      if (expected.reason === 'unspecified') {
        assert.equal(entry.extensions.length, 0);
        assert.equal(entry.reason, undefined);
      } else {
        assert.equal(entry.reason, x509.X509CrlReason[expected.reason]);
      }
    }
    const t = crlText(der);
    assert.match(t, /Key Compromise/);
    assert.match(t, /CA Compromise/);
    assert.match(t, /Privilege Withdrawn/);
    assert.match(t, /AA Compromise/);
    assert.doesNotMatch(t, /Unspecified/);
  });

  it('ok/bigint CRL number up to 20 octets (RFC 5280 §5.2.3)', async () => {
    const big = (1n << 158n) + 12345n;
    const t = crlText(await buildCrl(options({ crlNumber: big })));
    const printed = /X509v3 CRL Number:\s*\n\s+(0x[0-9A-Fa-f]+)\n/.exec(t)?.[1];
    assert.equal(BigInt(printed ?? 'missing'), big);
    const zero = crlText(await buildCrl(options({ crlNumber: 0n })));
    assert.match(zero, /X509v3 CRL Number:\s*\n\s+0\n/);
  });

  for (const keyAlg of KEY_ALGORITHMS) {
    it(`ok/${keyAlg} issuer signs CRLs openssl accepts`, async () => {
      const ca = await createRootCa({ commonName: `CRL ${keyAlg}`, keyAlg, now });
      const der = await buildCrl(options({ issuer: ca }));
      const crlPath = dir.write(`${keyAlg}.crl`, der);
      const caPath = dir.write(`${keyAlg}.pem`, ca.certPem);
      const out = opensslOk(['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', caPath, '-noout']);
      assert.match(out.stderr + out.stdout, /verify OK/);
    });
  }

  it('ok/crlDerToPem uses the X509 CRL label (RFC 7468 §6)', async () => {
    const der = await buildCrl(options());
    const pem = crlDerToPem(der);
    assert.match(pem, /^-----BEGIN X509 CRL-----\n/);
    assert.ok(pemToDer(pem, 'X509 CRL').equals(der));
    opensslOk(['crl', '-noout'], { input: pem });
  });

  const bad: Array<[string, Partial<BuildCrlOptions>, string]> = [
    ['fail/nextUpdate not after thisUpdate', { nextUpdate: now }, 'invalid_validity'],
    ['fail/negative CRL number', { crlNumber: -1 }, 'invalid_crl_number'],
    ['fail/fractional CRL number', { crlNumber: 1.5 }, 'invalid_crl_number'],
    ['fail/CRL number over 20 octets', { crlNumber: 1n << 160n }, 'invalid_crl_number'],
    [
      'fail/duplicate serial',
      {
        entries: [
          { serialHex: '7a', revokedAt: now, reason: 'superseded' },
          { serialHex: '7a', revokedAt: now, reason: 'keyCompromise' },
        ],
      },
      'duplicate_crl_entry',
    ],
    [
      'fail/bad serial',
      { entries: [{ serialHex: '00', revokedAt: now, reason: 'superseded' }] },
      'invalid_serial',
    ],
    [
      'fail/certificateHold is not accepted',
      { entries: [{ serialHex: '7a', revokedAt: now, reason: 'certificateHold' as RevocationReason }] },
      'invalid_crl_entry',
    ],
  ];
  for (const [name, overrides, code] of bad) {
    it(name, async () => {
      await assert.rejects(buildCrl(options(overrides)), { name: 'PkiError', code });
    });
  }

  it('fail/issuer without cRLSign (a server certificate)', async () => {
    const { privateKey, publicKey } = generateKeyPair('ES256');
    const server = await issueServerCertificate({
      issuer: issuing,
      publicKey,
      commonName: 'srv',
      dnsNames: ['srv.example'],
      ipAddresses: [],
      now,
    });
    await assert.rejects(buildCrl(options({ issuer: { certPem: server.certPem, privateKey } })), {
      code: 'invalid_issuer',
    });
  });
});
