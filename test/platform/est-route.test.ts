import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createCertificateResolver } from '../../src/authorization-server/index.ts';
import { setOrganisationStatus } from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  type CertificateView,
  certificatesOfCms,
  createCsr,
  getCertificate,
  rotationPolicyStore,
  splitCertificatePems,
} from '../../src/pki/index.ts';
import { createEstHandler, withEst } from '../../src/platform/est/create-est-handler.ts';
import type { Storage } from '../../src/storage/index.ts';
import { opensslOk, TempDir } from '../pki/openssl.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const DAY = 86_400_000;
const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;
// TLS checks validity against the wall clock: the certificates are issued now, the EST clock moves on its own.
const ISSUED = new Date();
let now = ISSUED;
const IN_WINDOW = new Date(ISSUED.getTime() + 70 * DAY);

type Keys = { privateKey: KeyObject; publicKey: KeyObject };
const p256 = (): Keys => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
const base64Csr = async (keys: Keys) =>
  (await createCsr(keys)).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

const dir = new TempDir();
let storage: Storage;
let ca: CertificateAuthority;
let partner: Partner;
const servers: Server[] = [];
let direct: string;
let behindProxy: string;

async function listen(handler: Parameters<typeof createServer>[1], tls: { cert: string; key: string }) {
  const server = createServer(
    { ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem },
    handler,
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

async function issue(keys: Keys, clientId = partner.clientId): Promise<CertificateView> {
  const csrPem = await createCsr(keys);
  return storage.transaction((tx) =>
    ca.issue(tx, { clientId, csrPem }, { actor: 'operator:test', now: ISSUED }),
  );
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

async function est(
  base: string,
  op: string,
  opts: {
    as?: { cert: string; key: string };
    body?: string;
    type?: string;
    method?: string;
    headers?: Record<string, string>;
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  const agent = new Agent({
    connect: { ca: ca.chainPem, ...(opts.as ? { cert: opts.as.cert, key: opts.as.key } : {}) },
  });
  try {
    const res = await request(`${base}/.well-known/est/${op}`, {
      method: (opts.method ?? (opts.body === undefined ? 'GET' : 'POST')) as 'GET',
      dispatcher: agent,
      headers: {
        ...(opts.body !== undefined ? { 'content-type': opts.type ?? 'application/pkcs10' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined
        ? { body: opts.chunked ? Readable.from([Buffer.from(opts.body)]) : opts.body }
        : {}),
    });
    return {
      status: res.statusCode,
      type: String(res.headers['content-type'] ?? ''),
      body: await res.body.text(),
    };
  } finally {
    await agent.close();
  }
}

const codeOf = (a: Answer) => a.body.split(':')[0];

let holder: { keys: Keys; cert: CertificateView; as: { cert: string; key: string } };

async function holderOf(keys: Keys) {
  const cert = await issue(keys);
  return { keys, cert, as: { cert: cert.certificate_pem, key: pem(keys.privateKey) } };
}

before(async () => {
  storage = await seededStorage(target);
  ca = await installCa(storage, {
    settings: { renewal: { windowFraction: 1 / 3, graceMs: 7 * DAY, drainMs: 60_000 } },
  });
  partner = await createPartner(storage, 'Acme Bank');
  const serverKeys = p256();
  const server = await ca.issueServerCertificate({
    publicKey: serverKeys.publicKey,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now: ISSUED,
  });
  const tls = { cert: `${server.certPem.trim()}\n${ca.chainPem}`, key: pem(serverKeys.privateKey) };
  const notFound: Parameters<typeof createServer>[1] = (_req, res) => {
    res.writeHead(404);
    res.end('not EST');
  };
  const logger = pino({ level: 'silent' });
  const handler = (trustedProxies: string[]) =>
    withEst(
      createEstHandler({
        storage,
        ca,
        clock: () => now,
        logger,
        resolveCertificate: createCertificateResolver({
          trustedProxies,
          trustedCas: splitCertificatePems(ca.chainPem),
        }),
      }),
      notFound,
    );
  direct = await listen(handler([]), tls);
  behindProxy = await listen(handler(['127.0.0.1']), tls);
  holder = await holderOf(p256());
});

after(async () => {
  for (const s of servers) s.close();
  dir.remove();
  await storage.close();
  await target.cleanup();
});

describe('EST (RFC 7030) on the mTLS listener', () => {
  test('ok/cacerts: certs-only CMS, base64, the issuing CA and the root (§4.1.3), no client certificate needed', async () => {
    const r = await est(direct, 'cacerts');
    assert.equal(r.status, 200);
    assert.match(r.type, /^application\/pkcs7-mime/);
    const certs = certificatesOfCms(Buffer.from(r.body.replace(/\s+/g, ''), 'base64'));
    assert.deepEqual(
      certs.map((d) => new X509Certificate(d).fingerprint256),
      splitCertificatePems(ca.chainPem).map((p) => new X509Certificate(p).fingerprint256),
    );
    // OpenSSL reads it as a PKCS#7 certs-only structure.
    const printed = opensslOk(['pkcs7', '-inform', 'DER', '-print_certs'], {
      input: Buffer.from(r.body.replace(/\s+/g, ''), 'base64'),
    }).stdout;
    assert.equal(printed.match(/BEGIN CERTIFICATE/g)?.length, 2);
  });

  test('fail/other operations and methods', async () => {
    assert.equal((await est(direct, 'simpleenroll', { body: 'x' })).status, 404);
    assert.equal((await est(direct, 'csrattrs')).status, 404);
    const get = await est(direct, 'simplereenroll', { as: holder.as });
    assert.equal(get.status, 405);
    assert.equal((await est(direct, 'cacerts', { method: 'POST', body: 'x' })).status, 405);
  });

  const refusals: Array<{
    name: string;
    status: number;
    code: string;
    run: () => Promise<Answer>;
  }> = [
    {
      name: 'fail/no client certificate (§3.3.2)',
      status: 403,
      code: 'certificate_required',
      run: async () => est(direct, 'simplereenroll', { body: await base64Csr(p256()) }),
    },
    {
      name: 'fail/a certificate of another CA',
      status: 403,
      code: 'certificate_untrusted',
      run: async () => {
        const rogue = p256();
        const keyFile = dir.write('rogue.key', pem(rogue.privateKey));
        // Same subject as the partner's: only the chain tells them apart.
        const self = opensslOk([
          'req',
          '-x509',
          '-key',
          keyFile,
          '-subj',
          `/CN=${partner.clientId}`,
          '-days',
          '2',
        ]).stdout;
        return est(direct, 'simplereenroll', {
          as: { cert: self, key: pem(rogue.privateKey) },
          body: await base64Csr(p256()),
        });
      },
    },
    {
      name: 'fail/outside the renewal window',
      status: 403,
      code: 'outside_renewal_window',
      run: async () => {
        now = new Date(ISSUED.getTime() + DAY);
        return est(direct, 'simplereenroll', { as: holder.as, body: await base64Csr(p256()) });
      },
    },
    {
      name: 'fail/the current key again (§4.2.2 rekey)',
      status: 400,
      code: 'same_key',
      run: async () => est(direct, 'simplereenroll', { as: holder.as, body: await base64Csr(holder.keys) }),
    },
    {
      name: 'fail/wrong content type (§4.2.1 application/pkcs10)',
      status: 415,
      code: 'unsupported_media_type',
      run: async () =>
        est(direct, 'simplereenroll', {
          as: holder.as,
          body: await base64Csr(p256()),
          type: 'application/json',
        }),
    },
    {
      name: 'fail/body not base64',
      status: 400,
      code: 'invalid_request',
      run: async () => est(direct, 'simplereenroll', { as: holder.as, body: '{"csr": "no"}' }),
    },
    {
      name: 'fail/base64 that is not a PKCS#10 request',
      status: 400,
      code: 'invalid_csr',
      run: async () =>
        est(direct, 'simplereenroll', { as: holder.as, body: Buffer.from('not a csr').toString('base64') }),
    },
    {
      name: 'fail/empty body',
      status: 400,
      code: 'invalid_request',
      run: async () => est(direct, 'simplereenroll', { as: holder.as, body: '' }),
    },
    {
      name: 'fail/body too large',
      status: 413,
      code: 'request_too_large',
      run: async () => est(direct, 'simplereenroll', { as: holder.as, body: 'A'.repeat(64 * 1024) }),
    },
    {
      name: 'fail/body too large, sent without a length (chunked)',
      status: 413,
      code: 'request_too_large',
      run: async () =>
        est(direct, 'simplereenroll', { as: holder.as, body: 'A'.repeat(64 * 1024), chunked: true }),
    },
    {
      name: 'fail/expired certificate',
      status: 403,
      code: 'certificate_expired',
      run: async () => {
        now = new Date(ISSUED.getTime() + 91 * DAY);
        return est(direct, 'simplereenroll', { as: holder.as, body: await base64Csr(p256()) });
      },
    },
    {
      name: 'fail/a Client-Cert header from an address that is not a trusted proxy',
      status: 403,
      code: 'certificate_required',
      run: async () =>
        est(direct, 'simplereenroll', {
          body: await base64Csr(p256()),
          headers: { 'client-cert': `:${new X509Certificate(holder.as.cert).raw.toString('base64')}:` },
        }),
    },
  ];
  for (const r of refusals) {
    test(r.name, async () => {
      now = IN_WINDOW;
      const answer = await r.run();
      assert.equal(answer.status, r.status, answer.body);
      assert.equal(codeOf(answer), r.code, answer.body);
      assert.match(answer.type, /^text\/plain/, 'RFC 7030 §4.2.3: a human-readable text');
    });
  }

  test('ok/simplereenroll: a new certificate for the new key, same platform-chosen subject (§4.2.3)', async () => {
    now = IN_WINDOW;
    const keys = p256();
    // The CSR's subject is whatever the client says; the platform names the certificate.
    const r = await est(direct, 'simplereenroll', { as: holder.as, body: await base64Csr(keys) });
    assert.equal(r.status, 200, r.body);
    assert.match(r.type, /^application\/pkcs7-mime; smime-type=certs-only/);
    const [der] = certificatesOfCms(Buffer.from(r.body.replace(/\s+/g, ''), 'base64'));
    const cert = new X509Certificate(der!);
    assert.equal(cert.checkPrivateKey(keys.privateKey), true);
    assert.equal(cert.subject, new X509Certificate(holder.as.cert).subject);
    assert.equal(cert.verify(new X509Certificate(splitCertificatePems(ca.chainPem)[0]!).publicKey), true);
    const old = await getCertificate(storage.db, holder.cert.serial);
    const successor = await getCertificate(storage.db, old.superseded_by ?? '');
    assert.equal(new X509Certificate(successor.certificate_pem).fingerprint256, cert.fingerprint256);
    assert.equal(successor.renews, holder.cert.serial);
    assert.equal(old.status, 'active', 'overlap: the old certificate stays valid');
  });

  test('ok/behind a trusted proxy: the forwarded certificate authenticates (RFC 9440)', async () => {
    now = IN_WINDOW;
    const other = await holderOf(p256());
    const r = await est(behindProxy, 'simplereenroll', {
      body: await base64Csr(p256()),
      headers: { 'client-cert': `:${new X509Certificate(other.as.cert).raw.toString('base64')}:` },
    });
    assert.equal(r.status, 200, r.body);
  });

  test('fail/revoked certificate, suspended organisation, review required', async () => {
    now = IN_WINDOW;
    const revoked = await holderOf(p256());
    await storage.transaction((tx) =>
      ca.revoke(tx, revoked.cert.serial, 'keyCompromise', { actor: 'operator:test', now: ISSUED }),
    );
    const r1 = await est(direct, 'simplereenroll', { as: revoked.as, body: await base64Csr(p256()) });
    assert.equal(r1.status, 403, r1.body);
    assert.equal(codeOf(r1), 'certificate_revoked');

    const reviewed = await holderOf(p256());
    await rotationPolicyStore(storage.db).put(
      'application',
      partner.clientId,
      { lifetime_days: null, key_algorithms: null, renewals_before_review: 0 },
      { actor: 'operator:test', now: ISSUED },
    );
    const r2 = await est(direct, 'simplereenroll', { as: reviewed.as, body: await base64Csr(p256()) });
    assert.equal(r2.status, 403, r2.body);
    assert.equal(codeOf(r2), 'review_required');
    await rotationPolicyStore(storage.db).put(
      'application',
      partner.clientId,
      { lifetime_days: null, key_algorithms: ['ES384'], renewals_before_review: null },
      { actor: 'operator:test', now: ISSUED },
    );
    const r3 = await est(direct, 'simplereenroll', { as: reviewed.as, body: await base64Csr(p256()) });
    assert.equal(r3.status, 400, r3.body);
    assert.equal(codeOf(r3), 'key_algorithm_not_allowed');
    await rotationPolicyStore(storage.db).remove('application', partner.clientId);

    await storage.transaction((tx) =>
      setOrganisationStatus(tx, partner.orgId, 'suspended', { actor: 'operator:test', now: ISSUED }),
    );
    const r4 = await est(direct, 'simplereenroll', { as: reviewed.as, body: await base64Csr(p256()) });
    assert.equal(r4.status, 403, r4.body);
    assert.equal(codeOf(r4), 'application_not_active');
  });
});
