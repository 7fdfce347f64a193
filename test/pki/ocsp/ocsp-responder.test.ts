import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, type TestContext, test } from 'node:test';
import * as pkijs from 'pkijs';
import type { CertificateAuthority } from '../../../src/pki/index.ts';
import { OCSP_OIDS, OcspResponder } from '../../../src/pki/ocsp/index.ts';
import { x509 } from '../../../src/pki/x509.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { createPartner, installCa, KEK } from '../../support/ca-fixture.ts';
import { META, seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';
import { csrFor, genpkey, openssl, TempDir } from '../openssl.ts';
import { certIdFor, decodeResponse, nonceExtension, requestDer } from './ocsp-messages.ts';

const targets = await engineTargets();
const dir = new TempDir();
after(() => dir.remove());
const csr = csrFor(genpkey(dir, 'partner', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']));

// openssl checks response times against its own clock: the responder's clock starts at the real time.
const START = new Date(Math.floor(Date.now() / 1000) * 1000);
const DAY = 86_400_000;

interface Env {
  storage: Storage;
  ca: CertificateAuthority;
  responder: OcspResponder;
  serial: string;
  certPem: string;
  setNow(at: Date): void;
}

async function setup(
  t: TestContext,
  target: Awaited<ReturnType<typeof engineTargets>>[number],
): Promise<Env> {
  const storage = await seededStorage(target);
  t.after(() => storage.close());
  const ca = await installCa(storage);
  const partner = await createPartner(storage, 'Acme Bank');
  const cert = await storage.transaction((tx) =>
    ca.issue(tx, { clientId: partner.clientId, csrPem: csr }, META),
  );
  await storage.feed.start();
  let now = START;
  const responder = new OcspResponder({
    storage,
    kek: KEK,
    clock: () => now,
    responderDays: 7,
    validityMinutes: 60,
    keyAlgorithm: 'ES256',
  });
  t.after(responder.follow());
  return {
    storage,
    ca,
    responder,
    serial: cert.serial,
    certPem: cert.certificate_pem,
    setNow: (at) => {
      now = at;
    },
  };
}

/** `openssl ocsp -respin`: verifies the signature and responder certificate against the CA chain. */
function opensslStatus(env: Env, der: Buffer, extra: string[] = []): string {
  const name = randomBytes(4).toString('hex');
  const result = openssl([
    'ocsp',
    ...extra,
    '-respin',
    dir.write(`${name}.resp`, der),
    '-issuer',
    dir.write(`${name}-issuer.pem`, env.ca.issuingPem),
    '-cert',
    dir.write(`${name}-cert.pem`, env.certPem),
    '-CAfile',
    dir.write(`${name}-chain.pem`, env.ca.chainPem),
  ]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /Response verify OK/);
  return result.stdout;
}

for (const target of targets) {
  describe(`OCSP responder (${target.name})`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/good: a SHA-1 CertID of a partner certificate, signed by the delegated responder', async (t) => {
      const env = await setup(t, target);
      const answer = await env.responder.respond(requestDer([certIdFor(env.ca.issuingPem, env.serial)]));
      assert.equal(answer.status, 'successful');
      assert.match(opensslStatus(env, answer.der), /: good/);
      const decoded = decodeResponse(answer.der);
      assert.deepEqual(
        decoded.singles.map((s) => s.status),
        ['good'],
      );
      assert.equal(decoded.singles[0]?.serialHex, env.serial);
      // RFC 6960 §4.2.2.2: the signer is a certificate the CA issued, with id-kp-OCSPSigning and nocheck.
      const signer = new x509.X509Certificate(
        decoded.basic?.certs?.[0]?.toSchema().toBER() ?? new ArrayBuffer(0),
      );
      const issuing = new x509.X509Certificate(env.ca.issuingPem);
      assert.equal(signer.issuer, issuing.subject);
      assert.ok(await signer.verify({ publicKey: issuing.publicKey, signatureOnly: true }));
      const eku = signer.getExtension(x509.ExtendedKeyUsageExtension);
      assert.deepEqual([...(eku?.usages ?? [])], [OCSP_OIDS.ocspSigning]);
      assert.ok(signer.getExtension(OCSP_OIDS.noCheck));
      assert.equal(signer.notAfter.getTime() - signer.notBefore.getTime(), 7 * DAY + 60_000);
      // Cached until a change: the same signed bytes again.
      const again = await env.responder.respond(requestDer([certIdFor(env.ca.issuingPem, env.serial)]));
      assert.deepEqual(again.der, answer.der);
      assert.ok(answer.cacheable);
    });

    test('ok/sha256: a SHA-256 CertID is matched and echoed', async (t) => {
      const env = await setup(t, target);
      const answer = await env.responder.respond(
        requestDer([certIdFor(env.ca.issuingPem, env.serial, 'sha256')]),
      );
      assert.match(opensslStatus(env, answer.der, ['-sha256']), /: good/);
    });

    test('ok/nonce: echoed exactly (RFC 8954 §2.1) and signed fresh each time', async (t) => {
      const env = await setup(t, target);
      const nonce = randomBytes(32);
      const der = requestDer([certIdFor(env.ca.issuingPem, env.serial)], {
        extensions: [nonceExtension(nonce)],
      });
      const first = await env.responder.respond(der);
      const second = await env.responder.respond(der);
      assert.deepEqual(decodeResponse(first.der).nonce, nonce);
      assert.equal(first.cacheable, undefined);
      assert.notDeepEqual(first.der, second.der, 'ECDSA signatures differ: the second was signed anew');
    });

    test('ok/revoked: the very next request after a revocation says revoked, with time and reason', async (t) => {
      const env = await setup(t, target);
      const der = requestDer([certIdFor(env.ca.issuingPem, env.serial)]);
      assert.equal(decodeResponse((await env.responder.respond(der)).der).singles[0]?.status, 'good');
      const at = new Date('2026-03-02T08:00:00.000Z');
      await env.storage.transaction((tx) =>
        env.ca.revoke(tx, env.serial, 'keyCompromise', { actor: 'operator:test', now: at }),
      );
      const answer = await env.responder.respond(der);
      const single = decodeResponse(answer.der).singles[0];
      assert.equal(single?.status, 'revoked');
      assert.equal(single?.revokedAt?.toISOString(), at.toISOString());
      assert.equal(single?.reason, 1);
      const text = opensslStatus(env, answer.der);
      assert.match(text, /: revoked/);
      assert.match(text, /Reason: keyCompromise/);
    });

    test('ok/unknown: a serial the CA never issued is unknown, never good', async (t) => {
      const env = await setup(t, target);
      const answer = await env.responder.respond(requestDer([certIdFor(env.ca.issuingPem, '7fffffff01')]));
      assert.equal(answer.status, 'successful');
      assert.deepEqual(
        decodeResponse(answer.der).singles.map((s) => s.status),
        ['unknown'],
      );
    });

    test('ok/multiple: one SingleResponse per CertID, in order', async (t) => {
      const env = await setup(t, target);
      const answer = await env.responder.respond(
        requestDer([
          certIdFor(env.ca.issuingPem, env.serial),
          certIdFor(env.ca.issuingPem, '7fffffff02'),
          certIdFor(env.ca.issuingPem, env.serial, 'sha256'),
        ]),
      );
      assert.deepEqual(
        decodeResponse(answer.der).singles.map((s) => s.status),
        ['good', 'unknown', 'good'],
      );
    });

    test('ok/root: the root responder answers for the issuing CA certificate', async (t) => {
      const env = await setup(t, target);
      const issuingSerial = new x509.X509Certificate(env.ca.issuingPem).serialNumber.toLowerCase();
      const answer = await env.responder.respond(requestDer([certIdFor(env.ca.rootPem, issuingSerial)]));
      const decoded = decodeResponse(answer.der);
      assert.deepEqual(
        decoded.singles.map((s) => s.status),
        ['good'],
      );
      const signer = new x509.X509Certificate(
        decoded.basic?.certs?.[0]?.toSchema().toBER() ?? new ArrayBuffer(0),
      );
      assert.equal(signer.issuer, new x509.X509Certificate(env.ca.rootPem).subject);
      const other = await env.responder.respond(requestDer([certIdFor(env.ca.rootPem, '7fffffff03')]));
      assert.deepEqual(
        decodeResponse(other.der).singles.map((s) => s.status),
        ['unknown'],
      );
    });

    test('ok/renewal: the responder certificate is replaced past half its life, its key KEK-encrypted', async (t) => {
      const env = await setup(t, target);
      const der = requestDer([certIdFor(env.ca.issuingPem, env.serial)]);
      const signerOf = (bytes: Buffer) => decodeResponse(bytes).basic?.certs?.[0]?.serialNumber.toBER();
      const first = signerOf((await env.responder.respond(der)).der);
      env.setNow(new Date(START.getTime() + 3 * DAY));
      assert.deepEqual(signerOf((await env.responder.respond(der)).der), first);
      env.setNow(new Date(START.getTime() + 4 * DAY));
      assert.notDeepEqual(signerOf((await env.responder.respond(der)).der), first);
      const rows = await env.storage.db.selectFrom('ocsp_responders').select(['key_pem']).execute();
      assert.equal(rows.length, 2, 'the first responder certificate and its successor');
      for (const row of rows) assert.match(row.key_pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    });

    test('ok/persisted: a second responder (another process) signs with the stored responder', async (t) => {
      const env = await setup(t, target);
      const der = requestDer([certIdFor(env.ca.issuingPem, env.serial)]);
      await env.responder.renewResponders();
      const other = new OcspResponder({
        storage: env.storage,
        kek: KEK,
        clock: () => START,
        responderDays: 7,
        validityMinutes: 60,
        keyAlgorithm: 'ES256',
      });
      const a = decodeResponse((await env.responder.respond(der)).der).basic?.certs?.[0];
      const b = decodeResponse((await other.respond(der)).der).basic?.certs?.[0];
      assert.ok(a && b);
      assert.deepEqual(Buffer.from(a.toSchema().toBER()), Buffer.from(b.toSchema().toBER()));
    });

    test('ok/AIA: partner certificates name the OCSP responder and the issuing CA certificate', async (t) => {
      const storage = await seededStorage(target);
      t.after(() => storage.close());
      const ca = await installCa(storage, {
        settings: {
          crlUrl: 'http://pki.example/pki/issuing-ca.crl',
          ocspUrl: 'http://pki.example/pki/ocsp',
          caCertUrlOf: (ski) => `http://pki.example/pki/ca/${ski}.cer`,
        },
      });
      const partner = await createPartner(storage, 'Acme Bank');
      const issued = await storage.transaction((tx) =>
        ca.issue(tx, { clientId: partner.clientId, csrPem: csr }, META),
      );
      const cert = new x509.X509Certificate(issued.certificate_pem);
      const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
      const ski = new x509.X509Certificate(ca.issuingPem).getExtension(
        x509.SubjectKeyIdentifierExtension,
      )?.keyId;
      assert.deepEqual(
        aia?.ocsp.map((n) => n.value),
        ['http://pki.example/pki/ocsp'],
      );
      assert.deepEqual(
        aia?.caIssuers.map((n) => n.value),
        [`http://pki.example/pki/ca/${ski}.cer`],
      );
      const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
      assert.equal(
        cdp?.distributionPoints[0]?.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier,
        'http://pki.example/pki/issuing-ca.crl',
      );
      // Without an OCSP URL configured, no AIA (nothing to point at).
      const plain = await setup(t, target);
      assert.equal(
        new x509.X509Certificate(plain.certPem).getExtension(x509.AuthorityInfoAccessExtension),
        null,
      );
    });

    const failures: Array<[string, (env: Env) => Buffer, string]> = [
      ['fail/garbage', () => Buffer.from('not an OCSP request at all'), 'malformedRequest'],
      ['fail/empty', () => Buffer.alloc(0), 'malformedRequest'],
      [
        'fail/truncated',
        (env) => requestDer([certIdFor(env.ca.issuingPem, env.serial)]).subarray(0, 40),
        'malformedRequest',
      ],
      [
        'fail/trailing bytes',
        (env) => Buffer.concat([requestDer([certIdFor(env.ca.issuingPem, env.serial)]), Buffer.from([0])]),
        'malformedRequest',
      ],
      [
        'fail/not an OCSPRequest',
        (env) => Buffer.from(new x509.X509Certificate(env.ca.rootPem).rawData),
        'malformedRequest',
      ],
      ['fail/no CertID', () => requestDer([]), 'malformedRequest'],
      [
        'fail/too many CertIDs',
        (env) => requestDer(Array.from({ length: 33 }, () => certIdFor(env.ca.issuingPem, env.serial))),
        'malformedRequest',
      ],
      [
        'fail/nonce of 33 octets (RFC 8954 §2.1)',
        (env) =>
          requestDer([certIdFor(env.ca.issuingPem, env.serial)], {
            extensions: [nonceExtension(randomBytes(33))],
          }),
        'malformedRequest',
      ],
      [
        'fail/empty nonce',
        (env) =>
          requestDer([certIdFor(env.ca.issuingPem, env.serial)], {
            extensions: [nonceExtension(Buffer.alloc(0))],
          }),
        'malformedRequest',
      ],
      [
        'fail/nonce not an OCTET STRING',
        (env) =>
          requestDer([certIdFor(env.ca.issuingPem, env.serial)], {
            extensions: [
              new pkijs.Extension({ extnID: OCSP_OIDS.nonce, extnValue: new Uint8Array([1, 2, 3]).buffer }),
            ],
          }),
        'malformedRequest',
      ],
      [
        'fail/unknown critical extension',
        (env) =>
          requestDer([certIdFor(env.ca.issuingPem, env.serial)], {
            extensions: [
              new pkijs.Extension({
                extnID: '1.2.3.4',
                critical: true,
                extnValue: new Uint8Array([5, 0]).buffer,
              }),
            ],
          }),
        'malformedRequest',
      ],
      [
        'fail/version 2',
        (env) => requestDer([certIdFor(env.ca.issuingPem, env.serial)], { version: 1 }),
        'malformedRequest',
      ],
      ['fail/unknown issuer', () => requestDer([certIdFor(dir.read('foreign.pem'), '01')]), 'unauthorized'],
      [
        'fail/issuers mixed in one request',
        (env) => requestDer([certIdFor(env.ca.issuingPem, env.serial), certIdFor(env.ca.rootPem, '01')]),
        'unauthorized',
      ],
      [
        'fail/unsupported CertID hash',
        (env) => requestDer([certIdFor(env.ca.issuingPem, env.serial, 'md5')]),
        'unauthorized',
      ],
    ];
    // A self-signed certificate no platform CA matches.
    const foreignKey = genpkey(dir, 'foreign', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      foreignKey,
      '-subj',
      '/CN=Accredit Issuing CA 1/O=Accredit',
      '-days',
      '2',
      '-out',
      dir.file('foreign.pem'),
    ]);

    test('fail/…: requests answered with an unsuccessful OCSPResponse, never a crash', async (t) => {
      const env = await setup(t, target);
      for (const [name, build, status] of failures) {
        await t.test(name, async () => {
          const answer = await env.responder.respond(build(env));
          assert.equal(answer.status, status);
          const decoded = decodeResponse(answer.der);
          assert.equal(decoded.status, { malformedRequest: 1, unauthorized: 6 }[status]);
          assert.equal(decoded.basic, undefined, 'an unsuccessful response carries no responseBytes');
        });
      }
    });

    test('fail/a root whose key is kept elsewhere has no responder: unauthorized', async (t) => {
      const env = await setup(t, target);
      await env.storage.db
        .updateTable('certificate_authorities')
        .set({ key_pem: null })
        .where('kind', '=', 'root')
        .execute();
      const responder = new OcspResponder({
        storage: env.storage,
        kek: KEK,
        clock: () => START,
        responderDays: 7,
        validityMinutes: 60,
        keyAlgorithm: 'ES256',
      });
      const issuingSerial = new x509.X509Certificate(env.ca.issuingPem).serialNumber.toLowerCase();
      const answer = await responder.respond(requestDer([certIdFor(env.ca.rootPem, issuingSerial)]));
      assert.equal(answer.status, 'unauthorized');
    });
  });
}
