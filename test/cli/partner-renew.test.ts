import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CliError } from '../../src/cli/cli-error.ts';
import { algorithmOfKey, renewPartnerCertificate } from '../../src/cli/partner/renew-certificate.ts';
import {
  base64Lines,
  type CertificateAuthority,
  certsOnlyCms,
  createCsr,
  derToPem,
} from '../../src/pki/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { TempDir } from '../pki/openssl.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;
const dir = new TempDir();
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

type Reply = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void> | void;

describe('accredit partner renew (EST client)', () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let partner: Partner;
  let server: Server;
  let url: string;
  let reply: Reply;

  async function issueFor(keys: { publicKey: KeyObject; privateKey: KeyObject }): Promise<string> {
    const csrPem = await createCsr(keys);
    const cert = await storage.transaction((tx) =>
      ca.issue(tx, { clientId: partner.clientId, csrPem }, { actor: 'operator:test', now: new Date() }),
    );
    return cert.certificate_pem;
  }

  /** A partner's files: the current certificate and key. */
  async function files(name: string) {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = dir.write(`${name}.crt`, await issueFor(keys));
    const key = dir.write(`${name}.key`, pem(keys.privateKey));
    return { cert, key, certText: readFileSync(cert, 'utf8'), keyText: readFileSync(key, 'utf8') };
  }

  const renew = (f: { cert: string; key: string }) =>
    renewPartnerCertificate({
      certFile: f.cert,
      keyFile: f.key,
      estUrl: url,
      ca: ca.chainPem,
      alg: undefined,
    });

  async function refusal(p: Promise<unknown>): Promise<CliError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof CliError, String(err));
      return err;
    }
    throw new Error('accepted');
  }

  before(async () => {
    storage = await seededStorage(target);
    ca = await installCa(storage);
    partner = await createPartner(storage, 'Acme Bank');
    const serverKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tls = await ca.issueServerCertificate({
      publicKey: serverKeys.publicKey,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      now: new Date(),
    });
    server = createServer(
      {
        cert: `${tls.certPem.trim()}\n${ca.chainPem}`,
        key: pem(serverKeys.privateKey),
        requestCert: true,
        rejectUnauthorized: true,
        ca: ca.chainPem,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => void reply(req, Buffer.concat(chunks), res));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `https://localhost:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await storage.close();
    await target.cleanup();
    dir.remove();
  });

  test('ok/a new key of the same algorithm, the answer checked, files replaced, the previous pair kept', async () => {
    const f = await files('ok');
    let seen: { path: string; type: string; peer: string } | undefined;
    reply = async (req, body, res) => {
      const socket = req.socket as TLSSocket;
      seen = {
        path: req.url ?? '',
        type: String(req.headers['content-type']),
        peer: socket.getPeerX509Certificate()?.fingerprint256 ?? '',
      };
      const csrPem = derToPem('CERTIFICATE REQUEST', Buffer.from(body.toString(), 'base64'));
      const issued = await storage.transaction((tx) =>
        ca.issue(tx, { clientId: partner.clientId, csrPem }, { actor: 'operator:test', now: new Date() }),
      );
      res.writeHead(200, { 'content-type': 'application/pkcs7-mime; smime-type=certs-only' });
      res.end(base64Lines(certsOnlyCms([issued.certificate_pem])));
    };
    const renewed = await renew(f);
    assert.equal(seen?.path, '/.well-known/est/simplereenroll');
    assert.equal(seen?.type, 'application/pkcs10');
    assert.equal(
      seen?.peer,
      new X509Certificate(f.certText).fingerprint256,
      'authenticated by the current certificate',
    );
    const cert = new X509Certificate(readFileSync(f.cert));
    assert.notEqual(cert.fingerprint256, new X509Certificate(f.certText).fingerprint256);
    assert.equal(cert.checkPrivateKey(createPrivateKey(readFileSync(f.key))), true);
    assert.equal(renewed.key_description, 'EC P-256');
    assert.equal(readFileSync(`${f.cert}.previous`, 'utf8'), f.certText);
    assert.equal(readFileSync(`${f.key}.previous`, 'utf8'), f.keyText);
    assert.equal(statSync(f.key).mode & 0o777, 0o600);
    assert.equal(statSync(`${f.key}.previous`).mode & 0o777, 0o600);
    assert.equal(existsSync(`${f.key}.tmp-${process.pid}`), false, 'no temporary file left');
  });

  const failures: Array<[string, Reply, string]> = [
    [
      'fail/a refusal (RFC 7030 §4.2.3 text) is one line with its code; nothing replaced',
      (_req, _body, res) => {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('outside_renewal_window: certificate aa can be renewed from 2026-05-01T00:00:00.000Z\n');
      },
      'outside_renewal_window',
    ],
    [
      'fail/an answer certifying another key; nothing replaced',
      async (_req, _body, res) => {
        const other = await issueFor(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
        res.writeHead(200, { 'content-type': 'application/pkcs7-mime' });
        res.end(base64Lines(certsOnlyCms([other])));
      },
      'key_mismatch',
    ],
    [
      'fail/an answer that is not PKCS#7; nothing replaced',
      (_req, _body, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy login</html>');
      },
      'bad_response',
    ],
    [
      'fail/PKCS#7 type with garbage inside; nothing replaced',
      (_req, _body, res) => {
        res.writeHead(200, { 'content-type': 'application/pkcs7-mime' });
        res.end('bm90IGEgY21zIG1lc3NhZ2U=');
      },
      'bad_response',
    ],
  ];
  for (const [name, handler, code] of failures) {
    test(name, async () => {
      const f = await files(`fail-${code}`);
      reply = handler;
      const err = await refusal(renew(f));
      assert.equal(err.code, code, err.message);
      assert.equal(err.message.includes('\n'), false);
      assert.equal(readFileSync(f.cert, 'utf8'), f.certText);
      assert.equal(readFileSync(f.key, 'utf8'), f.keyText);
      assert.equal(existsSync(`${f.cert}.previous`), false);
    });
  }

  test('fail/an expired or mismatched pair is refused before anything is sent', async () => {
    const f = await files('mismatch');
    writeFileSync(f.key, pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey));
    reply = () => assert.fail('nothing may be sent');
    assert.equal((await refusal(renew(f))).code, 'key_mismatch');
  });

  test('ok/the current key decides the algorithm', () => {
    const cases: Array<[KeyObject, string]> = [
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'],
      [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ES384'],
      [generateKeyPairSync('ed25519').privateKey, 'EdDSA'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'PS256'],
    ];
    for (const [key, alg] of cases) assert.equal(algorithmOfKey(pem(key)), alg);
  });
});
