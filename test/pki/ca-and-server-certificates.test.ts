import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { connect, createServer } from 'node:tls';
import {
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  issueServerCertificate,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
} from '../../src/pki/index.ts';
import { epoch, openssl, opensslOk, TempDir } from './openssl.ts';

const dir = new TempDir();
after(() => dir.remove());

const now = new Date('2026-03-01T12:00:00.750Z');
const nowSeconds = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const verifyAt = epoch(new Date(now.getTime() + DAY));

const SIGNATURE: Record<KeyAlgorithm, RegExp> = {
  ES256: /Signature Algorithm: ecdsa-with-SHA256/,
  ES384: /Signature Algorithm: ecdsa-with-SHA384/,
  PS256: /Signature Algorithm: rsassaPss[\s\S]*Hash Algorithm: sha256[\s\S]*Salt Length: 0x20/,
  EdDSA: /Signature Algorithm: ED25519/,
};

function text(pem: string): string {
  return opensslOk(['x509', '-noout', '-text'], { input: pem }).stdout;
}

function verify(root: CaMaterial, chain: string[], leaf: string, extra: string[] = []) {
  const rootPath = dir.write(`root-${Math.random()}.pem`, root.certPem);
  const untrusted = dir.write(`chain-${Math.random()}.pem`, chain.join(''));
  const leafPath = dir.write(`leaf-${Math.random()}.pem`, leaf);
  const args = ['verify', '-attime', verifyAt, '-CAfile', rootPath, ...extra, leafPath];
  if (chain.length > 0) args.splice(1, 0, '-untrusted', untrusted);
  return openssl(args);
}

describe('createRootCa', () => {
  for (const keyAlg of KEY_ALGORITHMS) {
    it(`ok/${keyAlg} self-signed root`, async () => {
      const root = await createRootCa({
        commonName: 'Accredit Root',
        organization: 'Acme, Inc.',
        keyAlg,
        now,
      });
      const t = text(root.certPem);
      assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
      assert.match(t, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
      assert.match(t, /X509v3 Subject Key Identifier/);
      assert.match(t, SIGNATURE[keyAlg]);
      assert.equal(root.subject, 'CN=Accredit Root,O=Acme\\, Inc.');
      assert.deepEqual(root.notBefore, nowSeconds);
      assert.deepEqual(root.notAfter, new Date(nowSeconds.getTime() + 20 * 365 * DAY));
      const node = new X509Certificate(root.certDer);
      assert.equal(node.serialNumber.toLowerCase(), root.serialHex);
      assert.equal(root.serialHex.length, 40);
      assert.ok(node.checkPrivateKey(root.privateKey));
      assert.ok(node.verify(createPublicKey(root.privateKey)));
      assert.equal(verify(root, [], root.certPem).status, 0);
    });
  }

  it('ok/defaults to ES256 and accepts a custom validity', async () => {
    const root = await createRootCa({ commonName: 'R', validityDays: 30, now });
    assert.equal(root.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.deepEqual(root.notAfter, new Date(nowSeconds.getTime() + 30 * DAY));
    assert.equal(root.subject, 'CN=R');
  });

  const bad: Array<[string, Parameters<typeof createRootCa>[0], string]> = [
    ['fail/zero validity', { commonName: 'R', validityDays: 0, now }, 'invalid_validity'],
    ['fail/fractional validity', { commonName: 'R', validityDays: 1.5, now }, 'invalid_validity'],
    ['fail/empty common name', { commonName: '', now }, 'invalid_subject'],
    ['fail/common name over 64 characters', { commonName: 'x'.repeat(65), now }, 'invalid_subject'],
    ['fail/newline in organization', { commonName: 'R', organization: 'A\nCN=x', now }, 'invalid_subject'],
  ];
  for (const [name, opts, code] of bad) {
    it(name, async () => {
      await assert.rejects(createRootCa(opts), { name: 'PkiError', code });
    });
  }
});

describe('createIssuingCa', () => {
  for (const keyAlg of KEY_ALGORITHMS) {
    it(`ok/${keyAlg} issuing CA under a root, with CRL distribution point`, async () => {
      const root = await createRootCa({ commonName: 'Root', keyAlg, now });
      const ica = await createIssuingCa({
        parent: root,
        commonName: 'Issuing',
        organization: 'Acme',
        keyAlg,
        now,
        crlUrl: 'https://pki.example/root.crl',
      });
      const t = text(ica.certPem);
      assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
      assert.match(t, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
      assert.match(
        t,
        /X509v3 CRL Distribution Points:\s*\n\s+Full Name:\n\s+URI:https:\/\/pki.example\/root.crl\n/,
      );
      assert.match(t, SIGNATURE[keyAlg]);
      const rootSki = /Subject Key Identifier:\s*\n\s+([0-9A-F:]+)/.exec(text(root.certPem))?.[1];
      const aki = /Authority Key Identifier:\s*\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(t)?.[1];
      assert.ok(rootSki);
      assert.equal(aki, rootSki);
      assert.equal(ica.subject, 'CN=Issuing,O=Acme');
      assert.deepEqual(ica.notAfter, new Date(nowSeconds.getTime() + 10 * 365 * DAY));
      assert.ok(new X509Certificate(ica.certDer).checkIssued(new X509Certificate(root.certDer)));
      assert.equal(verify(root, [], ica.certPem).status, 0);
    });
  }

  it('ok/no CRL distribution point unless asked', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const ica = await createIssuingCa({ parent: root, commonName: 'Issuing', now });
    assert.doesNotMatch(text(ica.certPem), /CRL Distribution Points/);
  });

  it('fail/an issuing CA (pathlen 0) cannot create another CA', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const ica = await createIssuingCa({ parent: root, commonName: 'Issuing', now });
    await assert.rejects(createIssuingCa({ parent: ica, commonName: 'Sub', validityDays: 30, now }), {
      code: 'invalid_issuer',
    });
  });

  it('fail/parent key does not match parent certificate', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const other = await createRootCa({ commonName: 'Other', now });
    await assert.rejects(
      createIssuingCa({
        parent: { certPem: root.certPem, privateKey: other.privateKey },
        commonName: 'I',
        now,
      }),
      { name: 'PkiError', code: 'invalid_issuer', status: 500, expose: false },
    );
  });

  it('fail/parent is not a CA', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const { privateKey, publicKey } = generateKeyPair('ES256');
    const server = await issueServerCertificate({
      issuer: root,
      publicKey,
      commonName: 'srv',
      dnsNames: ['srv.example'],
      ipAddresses: [],
      now,
    });
    await assert.rejects(
      createIssuingCa({ parent: { certPem: server.certPem, privateKey }, commonName: 'I', now }),
      {
        code: 'invalid_issuer',
      },
    );
  });

  it('fail/parent certificate is not PEM', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    await assert.rejects(
      createIssuingCa({ parent: { certPem: 'nope', privateKey: root.privateKey }, commonName: 'I', now }),
      { code: 'invalid_issuer' },
    );
  });

  it('fail/issuing CA would outlive its root', async () => {
    const root = await createRootCa({ commonName: 'Root', validityDays: 365, now });
    await assert.rejects(createIssuingCa({ parent: root, commonName: 'I', now }), {
      code: 'validity_exceeds_issuer',
    });
  });

  it('fail/issuing CA would start before its root', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    await assert.rejects(
      createIssuingCa({
        parent: root,
        commonName: 'I',
        validityDays: 30,
        now: new Date(now.getTime() - DAY),
      }),
      { code: 'validity_exceeds_issuer' },
    );
  });
});

describe('issueServerCertificate', () => {
  it('ok/serverAuth only, SAN with DNS and IP entries, default 397 days', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const ica = await createIssuingCa({ parent: root, commonName: 'Issuing', now });
    const { publicKey } = generateKeyPair('ES256');
    const server = await issueServerCertificate({
      issuer: ica,
      publicKey,
      commonName: 'accredit.local',
      dnsNames: ['accredit.local', '*.accredit.local'],
      ipAddresses: ['127.0.0.1', '::1'],
      now,
    });
    const t = text(server.certPem);
    assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(t, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(t, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    assert.doesNotMatch(t, /Client Authentication/);
    assert.match(
      t,
      /DNS:accredit.local, DNS:\*.accredit.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1\n/,
    );
    assert.match(t, /Subject: CN ?= ?accredit.local\n/);
    assert.deepEqual(server.notAfter, new Date(nowSeconds.getTime() + 397 * DAY));
    assert.equal(new X509Certificate(server.certDer).serialNumber.toLowerCase(), server.serialHex);
    assert.equal(verify(root, [ica.certPem], server.certPem, ['-purpose', 'sslserver']).status, 0);
    const asClient = verify(root, [ica.certPem], server.certPem, ['-purpose', 'sslclient']);
    assert.notEqual(asClient.status, 0);
    assert.match(asClient.stdout + asClient.stderr, /unsuitable certificate purpose/);
  });

  it('ok/RSA keys also get keyEncipherment', async () => {
    const root = await createRootCa({ commonName: 'Root', now });
    const server = await issueServerCertificate({
      issuer: root,
      publicKey: generateKeyPair('PS256').publicKey,
      commonName: 'rsa',
      dnsNames: ['rsa.example'],
      ipAddresses: [],
      now,
    });
    assert.match(
      text(server.certPem),
      /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/,
    );
  });

  it('ok/a real TLS handshake trusts the chain', async () => {
    const realNow = new Date();
    const root = await createRootCa({ commonName: 'Root', now: realNow });
    const ica = await createIssuingCa({ parent: root, commonName: 'Issuing', now: realNow });
    const { privateKey, publicKey } = generateKeyPair('ES256');
    const server = await issueServerCertificate({
      issuer: ica,
      publicKey,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      now: realNow,
    });
    const tlsServer = createServer(
      { key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: server.certPem + ica.certPem },
      (socket) => socket.end('hello'),
    );
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const { port } = tlsServer.address() as { port: number };
    try {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: root.certPem });
      await once(socket, 'secureConnect');
      assert.equal(socket.authorized, true);
      socket.destroy();
    } finally {
      tlsServer.close();
    }
  });

  const names: Array<[string, string[], string[]]> = [
    ['fail/no names at all', [], []],
    ['fail/space in DNS name', ['exa mple.com'], []],
    ['fail/wildcard not leftmost', ['a.*.example.com'], []],
    ['fail/URL instead of DNS name', ['https://example.com'], []],
    ['fail/invalid IPv4', [], ['999.1.1.1']],
    ['fail/hostname as IP', [], ['localhost']],
  ];
  for (const [name, dnsNames, ipAddresses] of names) {
    it(name, async () => {
      const root = await createRootCa({ commonName: 'Root', now });
      await assert.rejects(
        issueServerCertificate({
          issuer: root,
          publicKey: generateKeyPair('ES256').publicKey,
          commonName: 'x',
          dnsNames,
          ipAddresses,
          now,
        }),
        { name: 'PkiError', code: 'invalid_server_names', status: 400 },
      );
    });
  }

  it('fail/server certificate would outlive the issuer', async () => {
    const root = await createRootCa({ commonName: 'Root', validityDays: 30, now });
    await assert.rejects(
      issueServerCertificate({
        issuer: root,
        publicKey: generateKeyPair('ES256').publicKey,
        commonName: 'x',
        dnsNames: ['x.example'],
        ipAddresses: [],
        now,
      }),
      { code: 'validity_exceeds_issuer' },
    );
  });
});
