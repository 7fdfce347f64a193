import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type CsrFindingCode,
  createRootCa,
  derToPem,
  MAX_CSR_PEM_BYTES,
  pemToDer,
  validateCsr,
} from '../../src/pki/index.ts';
import { csrFor, genpkey, opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

const keys: Record<string, string> = {};
const csrs: Record<string, string> = {};

function derOf(pem: string): Buffer {
  return pemToDer(pem, 'CERTIFICATE REQUEST');
}

function reencode(der: Buffer): string {
  return derToPem('CERTIFICATE REQUEST', der);
}

/** Flips one bit in the last octet: inside the signature BIT STRING, which ends the DER. */
function tamperSignature(pem: string): string {
  const der = Buffer.from(derOf(pem));
  der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
  return reencode(der);
}

/** Replaces the first occurrence of `from` in the DER with `to` (same length). */
function patch(pem: string, from: string, to: string): string {
  const der = Buffer.from(derOf(pem));
  const at = der.indexOf(Buffer.from(from, 'hex'));
  assert.ok(at >= 0, `pattern ${from} not found`);
  Buffer.from(to, 'hex').copy(der, at);
  return reencode(der);
}

before(async () => {
  keys['rsa2048'] = genpkey(dir, 'rsa2048', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
  keys['rsa1024'] = genpkey(dir, 'rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
  keys['rsaE3'] = genpkey(dir, 'rsaE3', [
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-pkeyopt',
    'rsa_keygen_pubexp:3',
  ]);
  keys['rsaPssKey'] = genpkey(dir, 'rsapss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048']);
  keys['p256'] = genpkey(dir, 'p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  keys['p384'] = genpkey(dir, 'p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']);
  keys['p521'] = genpkey(dir, 'p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']);
  keys['secp256k1'] = genpkey(dir, 'secp256k1', [
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:secp256k1',
  ]);
  keys['ed25519'] = genpkey(dir, 'ed25519', ['-algorithm', 'ED25519']);
  keys['ed448'] = genpkey(dir, 'ed448', ['-algorithm', 'ED448']);
  const dsaParams = dir.file('dsa-params.pem');
  opensslOk([
    'genpkey',
    '-genparam',
    '-algorithm',
    'DSA',
    '-pkeyopt',
    'dsa_paramgen_bits:2048',
    '-out',
    dsaParams,
  ]);
  keys['dsa'] = genpkey(dir, 'dsa', ['-paramfile', dsaParams]);

  csrs['rsa2048'] = csrFor(keys['rsa2048']);
  csrs['rsa2048Pss'] = csrFor(keys['rsa2048'], [
    '-sha256',
    '-sigopt',
    'rsa_padding_mode:pss',
    '-sigopt',
    'rsa_pss_saltlen:32',
  ]);
  csrs['rsa2048Sha1'] = csrFor(keys['rsa2048'], ['-sha1']);
  csrs['rsa1024'] = csrFor(keys['rsa1024']);
  csrs['rsa1024Sha1'] = csrFor(keys['rsa1024'], ['-sha1']);
  csrs['rsaE3'] = csrFor(keys['rsaE3']);
  csrs['rsaPssKey'] = csrFor(keys['rsaPssKey']);
  csrs['p256'] = csrFor(keys['p256']);
  csrs['p256Extensions'] = csrFor(
    keys['p256'],
    [
      '-addext',
      'subjectAltName=DNS:admin.example,URI:https://evil.example',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'extendedKeyUsage=serverAuth,codeSigning',
    ],
    '/CN=admin/O=Platform Operator',
  );
  csrs['p384'] = csrFor(keys['p384'], ['-sha384']);
  csrs['p521'] = csrFor(keys['p521'], ['-sha512']);
  csrs['secp256k1'] = csrFor(keys['secp256k1']);
  csrs['ed25519'] = csrFor(keys['ed25519']);
  csrs['ed448'] = csrFor(keys['ed448']);
  csrs['dsa'] = csrFor(keys['dsa'], ['-sha256']);
  csrs['p256Text'] = opensslOk(['req', '-new', '-key', keys['p256'], '-subj', '/CN=x', '-text']).stdout;
});

type Case = { name: string; pem: () => unknown; codes: CsrFindingCode[]; key?: string };

const cases: Case[] = [
  { name: 'ok/rsa-2048', pem: () => csrs['rsa2048'], codes: [], key: 'RSA 2048' },
  {
    name: 'ok/rsa-2048 with an RSASSA-PSS signature',
    pem: () => csrs['rsa2048Pss'],
    codes: [],
    key: 'RSA 2048',
  },
  { name: 'ok/p-256', pem: () => csrs['p256'], codes: [], key: 'EC P-256' },
  { name: 'ok/p-384', pem: () => csrs['p384'], codes: [], key: 'EC P-384' },
  { name: 'ok/ed25519', pem: () => csrs['ed25519'], codes: [], key: 'Ed25519' },
  {
    name: 'ok/requested subject and extensions are ignored, not rejected',
    pem: () => csrs['p256Extensions'],
    codes: [],
    key: 'EC P-256',
  },
  {
    name: 'ok/legacy NEW CERTIFICATE REQUEST label (RFC 7468 §7)',
    pem: () => (csrs['p256'] as string).replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST'),
    codes: [],
    key: 'EC P-256',
  },
  { name: 'ok/explanatory text around the block', pem: () => csrs['p256Text'], codes: [], key: 'EC P-256' },

  { name: 'fail/rsa-1024 is a weak key', pem: () => csrs['rsa1024'], codes: ['weak_key'], key: 'RSA 1024' },
  { name: 'fail/rsa public exponent 3', pem: () => csrs['rsaE3'], codes: ['weak_key'], key: 'RSA 2048' },
  { name: 'fail/PSS-restricted RSA key', pem: () => csrs['rsaPssKey'], codes: ['unsupported_key'] },
  { name: 'fail/p-521', pem: () => csrs['p521'], codes: ['unsupported_key'], key: 'EC P-521' },
  { name: 'fail/secp256k1', pem: () => csrs['secp256k1'], codes: ['unsupported_key'], key: 'EC secp256k1' },
  { name: 'fail/ed448', pem: () => csrs['ed448'], codes: ['unsupported_key'], key: 'Ed448' },
  { name: 'fail/dsa', pem: () => csrs['dsa'], codes: ['unsupported_key'], key: 'DSA 2048' },
  {
    // id-Ed25519 (1.3.101.112) rewritten to id-X25519 (1.3.101.110): a key-agreement key cannot sign.
    name: 'fail/x25519 key',
    pem: () => patch(csrs['ed25519'] as string, '300506032b6570032100', '300506032b656e032100'),
    codes: ['unsupported_key'],
    key: 'X25519',
  },
  {
    name: 'fail/sha1 signature',
    pem: () => csrs['rsa2048Sha1'],
    codes: ['unsupported_signature_algorithm'],
  },
  {
    name: 'fail/every finding is reported: rsa-1024 signed with sha1',
    pem: () => csrs['rsa1024Sha1'],
    codes: ['weak_key', 'unsupported_signature_algorithm'],
  },
  {
    name: 'fail/tampered p-256 signature',
    pem: () => tamperSignature(csrs['p256'] as string),
    codes: ['bad_signature'],
  },
  {
    name: 'fail/tampered rsa signature',
    pem: () => tamperSignature(csrs['rsa2048'] as string),
    codes: ['bad_signature'],
  },
  {
    name: 'fail/tampered ed25519 signature',
    pem: () => tamperSignature(csrs['ed25519'] as string),
    codes: ['bad_signature'],
  },
  {
    name: 'fail/tampered subject breaks proof of possession (RFC 2986 §3)',
    pem: () =>
      patch(
        csrs['p256Extensions'] as string,
        Buffer.from('admin').toString('hex'),
        Buffer.from('admix').toString('hex'),
      ),
    codes: ['bad_signature'],
  },
  {
    name: 'fail/every finding is reported: rsa-1024 with a bad signature',
    pem: () => tamperSignature(csrs['rsa1024'] as string),
    codes: ['weak_key', 'bad_signature'],
  },
  {
    name: 'fail/version other than v1 (RFC 2986 §4.1)',
    pem: () => patch(csrs['p256'] as string, '020100', '020101'),
    codes: ['malformed_csr'],
  },
  {
    name: 'fail/trailing data after the DER',
    pem: () => reencode(Buffer.concat([derOf(csrs['p256'] as string), Buffer.from([0, 0])])),
    codes: ['malformed_csr'],
  },
  {
    name: 'fail/truncated DER',
    pem: () => reencode(derOf(csrs['p256'] as string).subarray(0, 100)),
    codes: ['malformed_csr'],
  },
  {
    name: 'fail/random bytes under a CSR label',
    pem: () => reencode(Buffer.from('0403414243', 'hex')),
    codes: ['malformed_csr'],
  },
  { name: 'fail/empty string', pem: () => '', codes: ['malformed_pem'] },
  { name: 'fail/whitespace only', pem: () => ' \n\t', codes: ['malformed_pem'] },
  { name: 'fail/not a string', pem: () => undefined, codes: ['malformed_pem'] },
  { name: 'fail/not PEM', pem: () => 'hello world', codes: ['malformed_pem'] },
  {
    name: 'fail/garbage base64',
    pem: () => '-----BEGIN CERTIFICATE REQUEST-----\nnot*base64!\n-----END CERTIFICATE REQUEST-----\n',
    codes: ['malformed_pem'],
  },
  {
    name: 'fail/raw DER base64 without PEM armour',
    pem: () => derOf(csrs['p256'] as string).toString('base64'),
    codes: ['malformed_pem'],
  },
  {
    name: 'fail/two CSR blocks',
    pem: () => (csrs['p256'] as string) + (csrs['ed25519'] as string),
    codes: ['malformed_pem'],
  },
  {
    name: 'fail/a certificate instead of a CSR',
    pem: async () => (await createRootCa({ commonName: 'x', now: new Date('2026-01-01T00:00:00Z') })).certPem,
    codes: ['malformed_csr'],
  },
  {
    name: 'fail/a private key instead of a CSR',
    pem: () => dir.read('p256.key'),
    codes: ['malformed_csr'],
  },
  {
    name: `fail/larger than ${MAX_CSR_PEM_BYTES} bytes`,
    pem: () => `${'#'.repeat(MAX_CSR_PEM_BYTES)}\n${csrs['p256']}`,
    codes: ['malformed_csr'],
  },
];

describe('validateCsr', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const result = await validateCsr((await c.pem()) as string);
      assert.deepEqual(
        result.findings.map((f) => f.code),
        c.codes,
        JSON.stringify(result.findings),
      );
      assert.equal(result.ok, c.codes.length === 0);
      if (c.key !== undefined) assert.equal(result.keyDescription, c.key);
      for (const f of result.findings) {
        assert.ok(f.field.length > 0 && f.message.length > 0);
        assert.doesNotMatch(f.message, /admin|partner|BEGIN/, 'messages never echo CSR content');
      }
      if (result.ok) {
        assert.ok(result.publicKey && result.publicKeySpki);
        assert.equal(result.publicKey.type, 'public');
        assert.ok(result.publicKey.export({ type: 'spki', format: 'der' }).equals(result.publicKeySpki));
      } else {
        assert.equal(result.publicKey, undefined);
        assert.equal(result.publicKeySpki, undefined);
      }
    });
  }

  it('ok/publicKeySpki is the key openssl sees in the CSR', async () => {
    const path = dir.write('p256.csr', csrs['p256'] as string);
    const expected = opensslOk(['req', '-in', path, '-pubkey', '-noout']).stdout;
    const result = await validateCsr(csrs['p256'] as string);
    assert.ok(result.publicKey?.equals(createPublicKey(expected)));
  });

  it('fail/findings carry spec references', async () => {
    const result = await validateCsr(tamperSignature(csrs['rsa1024'] as string));
    assert.deepEqual(
      result.findings.map((f) => [f.code, f.field, f.reference]),
      [
        ['weak_key', 'publicKey', 'CA/Browser Forum BR §6.1.5'],
        ['bad_signature', 'signature', 'RFC 2986 §3'],
      ],
    );
  });
});
