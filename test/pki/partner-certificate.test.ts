import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type BuildPartnerCertificateOptions,
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type PartnerSubject,
  randomSerialHex,
  x5tS256,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';
import { epoch, openssl, opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

const now = new Date('2026-04-01T00:00:00Z');
const DAY = 86_400_000;
const CRL_URL = 'https://pki.accredit.example/issuing.crl';
const subject: PartnerSubject = { clientId: 'client-7f3a', orgId: 'org-123', orgName: 'Acme Bank' };
let root: CaMaterial;
let issuing: CaMaterial;

before(async () => {
  root = await createRootCa({ commonName: 'Accredit Root', now });
  issuing = await createIssuingCa({
    parent: root,
    commonName: 'Accredit Issuing',
    now,
    crlUrl: 'https://x/root.crl',
  });
});

function spki(alg: KeyAlgorithm): Buffer {
  return generateKeyPair(alg).publicKey.export({ type: 'spki', format: 'der' });
}

function options(overrides: Partial<BuildPartnerCertificateOptions> = {}): BuildPartnerCertificateOptions {
  return {
    issuer: issuing,
    publicKeySpki: spki('ES256'),
    subject,
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 365 * DAY),
    crlUrl: CRL_URL,
    ...overrides,
  };
}

function text(pem: string): string {
  return opensslOk(['x509', '-noout', '-text'], { input: pem }).stdout;
}

describe('buildPartnerCertificate', () => {
  for (const alg of KEY_ALGORITHMS) {
    it(`ok/${alg} partner key`, async () => {
      const opts = options({ publicKeySpki: spki(alg) });
      const cert = await buildPartnerCertificate(opts);
      const t = text(cert.certPem);
      assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
      const usage = alg === 'PS256' ? 'Digital Signature, Key Encipherment' : 'Digital Signature';
      assert.match(t, new RegExp(`X509v3 Key Usage: critical\\n\\s+${usage}\\n`));
      assert.match(t, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
      assert.doesNotMatch(t, /Server Authentication/);
      assert.match(t, /X509v3 Subject Key Identifier/);
      assert.match(t, /X509v3 Authority Key Identifier/);
      assert.match(
        t,
        new RegExp(`X509v3 CRL Distribution Points:\\s*\\n\\s+Full Name:\\n\\s+URI:${CRL_URL}\\n`),
      );
      assert.doesNotMatch(t, /Subject Alternative Name/);

      assert.equal(cert.serialHex, opts.serialHex);
      assert.equal(cert.subject, 'CN=client-7f3a,2.5.4.97=org-123,O=Acme Bank');
      assert.equal(cert.issuer, issuing.subject);
      assert.deepEqual(cert.notBefore, opts.notBefore);
      assert.deepEqual(cert.notAfter, opts.notAfter);
      assert.equal(cert.x5tS256, x5tS256(cert.certDer));

      const node = new X509Certificate(cert.certDer);
      assert.ok(node.publicKey.export({ type: 'spki', format: 'der' }).equals(opts.publicKeySpki));
      assert.equal(node.serialNumber.toLowerCase(), opts.serialHex);
      assert.ok(node.checkIssued(new X509Certificate(issuing.certDer)));
      assert.ok(node.verify(new X509Certificate(issuing.certDer).publicKey));
    });
  }

  it('ok/organizationIdentifier (2.5.4.97) is a UTF8String, as openssl shows it', async () => {
    const cert = await buildPartnerCertificate(options());
    const subjectLine = opensslOk(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], {
      input: cert.certPem,
    }).stdout;
    assert.equal(subjectLine.trim(), 'subject=CN=client-7f3a,organizationIdentifier=org-123,O=Acme Bank');
    const dump = opensslOk(['asn1parse', '-inform', 'DER'], { input: cert.certDer }).stdout;
    assert.match(dump, /:organizationIdentifier\n.*UTF8STRING\s+:org-123/);
    assert.match(dump, /:commonName\n.*UTF8STRING\s+:client-7f3a/);
  });

  it('ok/chain verifies with openssl as a TLS client certificate', async () => {
    const cert = await buildPartnerCertificate(options());
    const rootPath = dir.write('root.pem', root.certPem);
    const icaPath = dir.write('ica.pem', issuing.certPem);
    const leafPath = dir.write('leaf.pem', cert.certPem);
    const at = epoch(new Date(now.getTime() + DAY));
    const base = ['verify', '-attime', at, '-CAfile', rootPath, '-untrusted', icaPath];
    assert.equal(openssl([...base, '-purpose', 'sslclient', leafPath]).status, 0);
    assert.notEqual(openssl([...base, '-purpose', 'sslserver', leafPath]).status, 0);
  });

  const injections: Array<[string, Partial<PartnerSubject>, string]> = [
    ['comma and CN', { orgName: 'Acme, CN=admin' }, 'CN=client-7f3a,2.5.4.97=org-123,O=Acme\\, CN=admin'],
    [
      'plus (multi-valued RDN)',
      { orgName: 'Acme+CN=admin' },
      'CN=client-7f3a,2.5.4.97=org-123,O=Acme\\+CN=admin',
    ],
    ['equals sign', { clientId: 'CN=admin' }, 'CN=CN=admin,2.5.4.97=org-123,O=Acme Bank'],
    [
      'quotes',
      { orgName: '"Acme" CN="admin"' },
      'CN=client-7f3a,2.5.4.97=org-123,O=\\"Acme\\" CN=\\"admin\\"',
    ],
    [
      'backslash escapes',
      { orgName: 'Acme\\, CN=admin' },
      'CN=client-7f3a,2.5.4.97=org-123,O=Acme\\\\\\, CN=admin',
    ],
    [
      'semicolon and angle brackets',
      { orgName: 'A;CN=b<c>' },
      'CN=client-7f3a,2.5.4.97=org-123,O=A\\;CN=b\\<c\\>',
    ],
    [
      'leading hash would be raw DER',
      { orgId: '#0c0561646d696e' },
      'CN=client-7f3a,2.5.4.97=\\#0c0561646d696e,O=Acme Bank',
    ],
    ['slash-separated DN', { orgName: 'Acme/CN=admin' }, 'CN=client-7f3a,2.5.4.97=org-123,O=Acme/CN=admin'],
    ['unicode', { orgName: 'Bänk Ōsaka 銀行' }, 'CN=client-7f3a,2.5.4.97=org-123,O=Bänk Ōsaka 銀行'],
  ];
  for (const [name, override, expected] of injections) {
    it(`ok/subject injection attempt is literal: ${name}`, async () => {
      const s = { ...subject, ...override };
      const cert = await buildPartnerCertificate(options({ subject: s }));
      assert.equal(cert.subject, expected);
      const parsed = new x509.X509Certificate(cert.certDer).subjectName;
      assert.deepEqual(parsed.getField('CN'), [s.clientId], 'exactly one CN, the client id');
      assert.deepEqual(parsed.getField('O'), [s.orgName]);
      assert.deepEqual(parsed.getField('2.5.4.97'), [s.orgId]);
      assert.equal(parsed.toJSON().length, 3, 'exactly three RDNs');
      const dump = opensslOk(['asn1parse', '-inform', 'DER'], { input: cert.certDer }).stdout;
      assert.equal(dump.match(/:commonName\n/g)?.length, 2, 'one CN in the issuer, one in the subject');
    });
  }

  const badSubjects: Array<[string, Partial<PartnerSubject>]> = [
    ['fail/newline in orgName', { orgName: 'Acme\nCN=admin' }],
    ['fail/carriage return in clientId', { clientId: 'a\rb' }],
    ['fail/NUL in orgId', { orgId: 'org\u0000x' }],
    ['fail/bidi override in orgName', { orgName: 'Acme\u202eknaB' }],
    ['fail/empty clientId', { clientId: '' }],
    ['fail/surrounding whitespace', { orgName: ' Acme ' }],
    ['fail/orgName over 64 characters', { orgName: 'A'.repeat(65) }],
    ['fail/lone surrogate', { orgName: 'Acme\ud800' }],
  ];
  for (const [name, override] of badSubjects) {
    it(name, async () => {
      await assert.rejects(buildPartnerCertificate(options({ subject: { ...subject, ...override } })), {
        name: 'PkiError',
        code: 'invalid_subject',
        status: 400,
      });
    });
  }

  const badSerials = ['', '00', '0001', 'ABCD', `80${'00'.repeat(19)}`, 'xyz1'];
  for (const serialHex of badSerials) {
    it(`fail/serial ${JSON.stringify(serialHex)}`, async () => {
      await assert.rejects(buildPartnerCertificate(options({ serialHex })), { code: 'invalid_serial' });
    });
  }

  it('fail/notAfter beyond the issuing CA', async () => {
    await assert.rejects(
      buildPartnerCertificate(options({ notAfter: new Date(issuing.notAfter.getTime() + DAY) })),
      { code: 'validity_exceeds_issuer' },
    );
  });

  it('fail/notAfter before notBefore', async () => {
    await assert.rejects(buildPartnerCertificate(options({ notAfter: now })), { code: 'invalid_validity' });
  });

  it('fail/publicKeySpki is not an SPKI', async () => {
    await assert.rejects(buildPartnerCertificate(options({ publicKeySpki: Buffer.from('nope') })), {
      code: 'invalid_public_key',
    });
  });

  it('fail/issuer is the root key with the issuing certificate', async () => {
    await assert.rejects(
      buildPartnerCertificate(options({ issuer: { certPem: issuing.certPem, privateKey: root.privateKey } })),
      { code: 'invalid_issuer' },
    );
  });
});
