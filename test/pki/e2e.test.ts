import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import {
  buildCrl,
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  crlDerToPem,
  generateKeyPair,
  issueServerCertificate,
  type RevocationReason,
  randomSerialHex,
  validateCsr,
} from '../../src/pki/index.ts';
import { epoch, openssl, opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

const HOUR = 3_600_000;
const CRL_URL = 'https://pki.accredit.example/crl/issuing.crl';
const subject = { clientId: 'c-4f1e9b', orgId: 'ORG-0042', orgName: 'Acme Bank' };

async function platformCa(now: Date) {
  const root = await createRootCa({ commonName: 'Accredit Root CA', organization: 'Accredit', now });
  const issuing = await createIssuingCa({
    parent: root,
    commonName: 'Accredit Issuing CA',
    organization: 'Accredit',
    now,
    crlUrl: 'https://pki.accredit.example/crl/root.crl',
  });
  return { root, issuing };
}

/** The partner side: openssl makes the key and a CSR that claims someone else's identity. */
function attackerCsr(name: string): { keyPem: string; csr: string } {
  const keyPath = dir.file(`${name}.key`);
  const csr = opensslOk([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-subj',
    '/CN=evil/O=Attacker',
  ]).stdout;
  return { keyPem: readFileSync(keyPath, 'utf8'), csr };
}

async function issuePartner(issuing: CaMaterial, csr: string, now: Date) {
  const validation = await validateCsr(csr);
  assert.equal(validation.ok, true, JSON.stringify(validation.findings));
  assert.ok(validation.publicKeySpki);
  return buildPartnerCertificate({
    issuer: issuing,
    publicKeySpki: validation.publicKeySpki,
    subject,
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 90 * 24 * HOUR),
    crlUrl: CRL_URL,
  });
}

async function crlPem(
  issuer: CaMaterial,
  now: Date,
  crlNumber: number,
  entries: Array<{ serialHex: string; reason: RevocationReason }> = [],
) {
  const der = await buildCrl({
    issuer,
    crlNumber,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 24 * HOUR),
    entries: entries.map((e) => ({ ...e, revokedAt: now })),
  });
  return crlDerToPem(der);
}

describe('end to end: CSR from a partner to a certificate, then revocation', () => {
  it('ok/platform subject, clientAuth, CRL DP; openssl verify passes, then fails once revoked', async () => {
    const now = new Date('2026-06-01T08:00:00Z');
    const { root, issuing } = await platformCa(now);
    const { csr } = attackerCsr('partner');
    const leaf = await issuePartner(issuing, csr, now);

    const leafPath = dir.write('leaf.pem', leaf.certPem);
    const shown = opensslOk([
      'x509',
      '-in',
      leafPath,
      '-noout',
      '-subject',
      '-ext',
      'extendedKeyUsage,crlDistributionPoints',
    ]).stdout;
    assert.match(shown, /^subject=O = Acme Bank, organizationIdentifier = ORG-0042, CN = c-4f1e9b\n/);
    assert.doesNotMatch(shown, /evil|Attacker/);
    assert.match(shown, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    assert.match(
      shown,
      new RegExp(`X509v3 CRL Distribution Points:\\s*\\n\\s+Full Name:\\n\\s+URI:${CRL_URL}\\n`),
    );
    assert.equal(leaf.subject, 'CN=c-4f1e9b,2.5.4.97=ORG-0042,O=Acme Bank');
    assert.equal(leaf.issuer, 'CN=Accredit Issuing CA,O=Accredit');

    const bundle = dir.write('bundle.pem', root.certPem + issuing.certPem);
    const at = epoch(new Date(now.getTime() + HOUR));
    const verify = (crl: string) =>
      openssl(['verify', '-attime', at, '-CAfile', bundle, '-crl_check', '-CRLfile', crl, leafPath]);

    const emptyCrl = dir.write('empty.crl.pem', await crlPem(issuing, now, 1));
    const ok = verify(emptyCrl);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /: OK\n/);

    const revokedCrl = dir.write(
      'revoked.crl.pem',
      await crlPem(issuing, now, 2, [{ serialHex: leaf.serialHex, reason: 'keyCompromise' }]),
    );
    const revoked = verify(revokedCrl);
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);

    // -crl_check_all also walks the issuing CA against the root's CRL.
    const rootCrl = await crlPem(root, now, 1);
    const all = dir.write('all.crl.pem', rootCrl + (await crlPem(issuing, now, 3)));
    const checkAll = openssl([
      'verify',
      '-attime',
      at,
      '-CAfile',
      bundle,
      '-crl_check_all',
      '-CRLfile',
      all,
      leafPath,
    ]);
    assert.equal(checkAll.status, 0, checkAll.stderr);
  });

  it('ok/a real mTLS handshake accepts the partner, and refuses it once revoked', async () => {
    // The one place the wall clock is read: TLS validates against it.
    const now = new Date();
    const { root, issuing } = await platformCa(now);
    const { keyPem, csr } = attackerCsr('mtls');
    const leaf = await issuePartner(issuing, csr, now);
    const serverKey = generateKeyPair('ES256');
    const server = await issueServerCertificate({
      issuer: issuing,
      publicKey: serverKey.publicKey,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      now,
    });
    const rootCrl = await crlPem(root, now, 1);

    async function handshake(
      issuingCrl: string,
    ): Promise<{ authorized: boolean; error?: string; subject?: string }> {
      const tlsServer = createServer({
        key: serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        cert: server.certPem + issuing.certPem,
        ca: [root.certPem, issuing.certPem],
        crl: [rootCrl, issuingCrl],
        requestCert: true,
        rejectUnauthorized: false,
      });
      const result = new Promise<{ authorized: boolean; error?: string; subject?: string }>((resolve) => {
        tlsServer.on('secureConnection', (socket: TLSSocket) => {
          const peer = socket.getPeerX509Certificate();
          const error = socket.authorizationError === null ? undefined : String(socket.authorizationError);
          resolve({
            authorized: socket.authorized,
            ...(error === undefined ? {} : { error }),
            ...(peer ? { subject: peer.subject } : {}),
          });
          socket.end();
        });
      });
      tlsServer.listen(0, '127.0.0.1');
      await once(tlsServer, 'listening');
      const { port } = tlsServer.address() as { port: number };
      const client = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: root.certPem,
        key: keyPem,
        cert: leaf.certPem,
      });
      client.on('error', () => {});
      try {
        return await result;
      } finally {
        client.destroy();
        tlsServer.close();
      }
    }

    const accepted = await handshake(await crlPem(issuing, now, 1));
    assert.equal(accepted.authorized, true, accepted.error);
    assert.equal(accepted.subject, 'O=Acme Bank\norganizationIdentifier=ORG-0042\nCN=c-4f1e9b');

    const refused = await handshake(
      await crlPem(issuing, now, 2, [{ serialHex: leaf.serialHex, reason: 'keyCompromise' }]),
    );
    assert.equal(refused.authorized, false);
    assert.equal(refused.error, 'CERT_REVOKED');
  });
});
