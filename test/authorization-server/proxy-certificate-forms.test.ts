import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Agent } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import {
  buildPartnerCertificate,
  type CaMaterial,
  type CertificateAuthority,
  createRootCa,
  generateKeyPair,
  randomSerialHex,
} from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { ProxyEntry } from '../../src/shared/client-cert-headers/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { type ClientCredential, csrWithKey, foreignCredential, serverTlsFrom } from '../gateway/fixture.ts';
import {
  albEncodedPem,
  byteSequence,
  sha256Hex,
  urlEncodedPem,
} from '../shared/client-cert-headers/certificates.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const DAY = 86_400_000;

// 127.0.0.0/8 is loopback on Linux: each proxy connects from its own address.
const RFC9440 = '127.0.0.2'; // legacy trustedProxies
const NGINX = '127.0.0.3';
const NGINX_CUSTOM = '127.0.0.4';
const ENVOY = '127.0.0.5'; // must present its pinned certificate
const ALB_NET = '127.0.6.0/24'; // must present a certificate of the proxy CA with the configured subject
const ALB = '127.0.6.9';
const PINNED_PLATFORM = '127.0.0.8'; // pinned to a partner certificate: a proxy's certificate is never the client's
const CLIENT = '127.0.0.1';

interface App extends ClientCredential {
  clientId: string;
}

const claimsOf = (accessToken: unknown) =>
  JSON.parse(Buffer.from(String(accessToken).split('.')[1] ?? '', 'base64url').toString()) as {
    client_id?: string;
    cnf?: Record<string, string>;
  };

for (const target of targets) {
  describe(`token endpoint: client certificates forwarded by trusted proxies, every form: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    let ca: CertificateAuthority;
    let origin: string;
    let server: Server;
    const agents: Agent[] = [];
    const fetcher = testPartnerFetcher();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = { actor: 'operator:test', now };
    const dir = mkdtempSync(join(tmpdir(), 'accredit-proxy-ca-'));
    let reader: App;
    let writer: App;
    let foreign: ClientCredential;
    let envoyProxy: ClientCredential;
    let albProxy: ClientCredential;
    let stranger: ClientCredential;

    async function issue(orgId: string, name: string): Promise<App> {
      const clientId = await storage.transaction((tx) =>
        createApplication(
          tx,
          { orgId, name, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          meta,
        ),
      );
      const { csrPem, keyPem } = await csrWithKey();
      const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
      return { clientId, certPem: cert.certificate_pem, keyPem, x5tS256: cert.x5t_s256 };
    }

    /** A proxy's own TLS client certificate, from a CA of the proxies (not the platform's). */
    async function proxyCredential(
      caName: string,
      name: string,
    ): Promise<{ cred: ClientCredential; caPem: string }> {
      const proxyCa = await createRootCa({
        commonName: caName,
        now: new Date(now.getTime() - DAY),
        validityDays: 365,
      });
      return { cred: await keyedLeaf(proxyCa, name), caPem: proxyCa.certPem };
    }

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      await storage.db
        .insertInto('signing_keys')
        .values(await createSigningKey('access_token', 'ES256', KEK, now))
        .execute();
      const org = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
      reader = await issue(org, 'Reader');
      writer = await issue(org, 'Writer');
      foreign = await foreignCredential('foreign-client', 'foreign-org');
      const envoy = await proxyCredential('Envoy Proxy CA', 'envoy-edge');
      envoyProxy = envoy.cred;
      const alb = await proxyCredential('ALB Proxy CA', 'alb-edge');
      albProxy = alb.cred;
      // The same subject as the ALB proxy's, from another CA.
      stranger = (await proxyCredential('ALB Proxy CA', 'alb-edge')).cred;
      const albCaFile = join(dir, 'alb-ca.pem');
      writeFileSync(albCaFile, alb.caPem);
      const proxies: ProxyEntry[] = [
        { address: NGINX, form: 'nginx' },
        { address: NGINX_CUSTOM, form: 'nginx', header: 'X-SSL-Cert' },
        { address: ENVOY, form: 'envoy-xfcc', clientCertSha256: [envoyProxy.x5tS256] },
        {
          address: ALB_NET,
          form: 'aws-alb',
          clientCertCaFile: albCaFile,
          clientCertSubject: new X509Certificate(albProxy.certPem).subject.split('\n').join(', '),
        },
        { address: PINNED_PLATFORM, form: 'rfc9440', clientCertSha256: [reader.x5tS256] },
      ];
      const trustedCas =
        ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      server = createServer({
        ...(await serverTlsFrom(ca)),
        requestCert: true,
        rejectUnauthorized: false,
        ca: trustedCas,
        minVersion: 'TLSv1.2',
        // Above our own 16 KiB bound, so that an oversized header reaches the parser rather than Node's 431.
        maxHeaderSize: 64 * 1024,
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => now,
        logger: pino({ level: 'silent' }),
        issuer: ISSUER,
        mtlsUrl: origin,
        audience: 'https://api.accredit.test',
        accessTokenTtlSeconds: 300,
        trustedCas,
        trustedProxies: [RFC9440],
        proxies,
        fetcher,
      });
      server.on('request', as.handle);
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage?.close();
      await fetcher.close();
      await target.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    function agent(from: string, tls?: ClientCredential): Agent {
      const a = new Agent({
        localAddress: from,
        connect: { ca: ca.chainPem, ...(tls ? { cert: tls.certPem, key: tls.keyPem } : {}) },
      });
      agents.push(a);
      return a;
    }

    async function token(
      from: string,
      tls: ClientCredential | undefined,
      clientId: string,
      headers: Record<string, string>,
    ) {
      const res = await agent(from, tls).request({
        origin,
        path: '/token',
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown> };
    }

    /** Each form's header(s) carrying a certificate (PEM), as its proxy writes them. */
    const FORMS: Record<
      string,
      { from: string; tls?: () => ClientCredential; headers: (pem: string) => Record<string, string> }
    > = {
      rfc9440: { from: RFC9440, headers: (pem) => ({ 'client-cert': byteSequence(pem) }) },
      nginx: { from: NGINX, headers: (pem) => ({ 'x-client-cert': urlEncodedPem(pem) }) },
      'nginx, configured header': {
        from: NGINX_CUSTOM,
        headers: (pem) => ({ 'x-ssl-cert': urlEncodedPem(pem) }),
      },
      'envoy-xfcc': {
        from: ENVOY,
        tls: () => envoyProxy,
        headers: (pem) => ({
          'x-forwarded-client-cert': `By=spiffe://edge;Hash=${sha256Hex(pem)};Cert="${urlEncodedPem(pem)}";Subject="CN=x"`,
        }),
      },
      'aws-alb': {
        from: ALB,
        tls: () => albProxy,
        headers: (pem) => ({
          'x-amzn-mtls-clientcert': albEncodedPem(
            pem,
            ca.chainPem.split(/(?<=-----END CERTIFICATE-----)/)[0] ?? '',
          ),
        }),
      },
    };

    for (const [form, f] of Object.entries(FORMS)) {
      test(`ok/${form} from its trusted proxy authenticates the client it names and binds its token`, async () => {
        const r = await token(f.from, f.tls?.(), writer.clientId, f.headers(writer.certPem));
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const claims = claimsOf(r.json.access_token);
        assert.equal(claims.client_id, writer.clientId);
        assert.equal(claims.cnf?.['x5t#S256'], writer.x5tS256);
      });

      test(`fail/${form} from an address that is not a proxy, no TLS certificate → 401 invalid_client`, async () => {
        const r = await token(CLIENT, undefined, writer.clientId, f.headers(writer.certPem));
        assert.equal(r.status, 401, JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_client');
      });

      test(`fail/${form} naming another client from a non-proxy beside its own TLS certificate → ignored`, async () => {
        const r = await token(CLIENT, reader, writer.clientId, f.headers(writer.certPem));
        assert.equal(r.status, 401, JSON.stringify(r.json));
        const own = await token(CLIENT, reader, reader.clientId, f.headers(writer.certPem));
        assert.equal(own.status, 200, JSON.stringify(own.json));
        assert.equal(
          claimsOf(own.json.access_token).cnf?.['x5t#S256'],
          reader.x5tS256,
          'bound to the TLS certificate',
        );
      });

      test(`fail/${form} from its proxy with a certificate of another CA → 401 invalid_client`, async () => {
        const r = await token(f.from, f.tls?.(), writer.clientId, f.headers(foreign.certPem));
        assert.equal(r.status, 401, JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_client');
      });
    }

    const unproven: Array<
      [string, string, () => ClientCredential | undefined, () => Record<string, string>]
    > = [
      [
        'the Envoy proxy address without its pinned certificate',
        ENVOY,
        () => undefined,
        () => FORMS['envoy-xfcc']!.headers(writer.certPem),
      ],
      [
        'the Envoy proxy address with another certificate',
        ENVOY,
        () => albProxy,
        () => FORMS['envoy-xfcc']!.headers(writer.certPem),
      ],
      [
        'the ALB network without a certificate',
        ALB,
        () => undefined,
        () => FORMS['aws-alb']!.headers(writer.certPem),
      ],
      [
        'the ALB network with the right subject from another CA',
        ALB,
        () => stranger,
        () => FORMS['aws-alb']!.headers(writer.certPem),
      ],
      [
        'the ALB network’s certificate from outside it',
        '127.0.7.9',
        () => albProxy,
        () => FORMS['aws-alb']!.headers(writer.certPem),
      ],
    ];
    for (const [name, from, tls, headers] of unproven) {
      test(`fail/${name}: the headers are ignored → 401 invalid_client`, async () => {
        const r = await token(from, tls(), writer.clientId, headers());
        assert.equal(r.status, 401, JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_client');
      });
    }

    test('fail/a proxy identified by its certificate forwarding none: its own certificate is not the client’s', async () => {
      // This proxy is pinned to the reader's partner certificate; from it the TLS peer is the proxy, never a client.
      const r = await token(PINNED_PLATFORM, reader, reader.clientId, {});
      assert.equal(r.status, 401, JSON.stringify(r.json));
      const forwarded = await token(
        PINNED_PLATFORM,
        reader,
        writer.clientId,
        FORMS.rfc9440!.headers(writer.certPem),
      );
      assert.equal(forwarded.status, 200, JSON.stringify(forwarded.json));
      assert.equal(claimsOf(forwarded.json.access_token).cnf?.['x5t#S256'], writer.x5tS256);
    });

    const malformed: Array<
      [string, string, () => ClientCredential | undefined, () => Record<string, string>, RegExp]
    > = [
      [
        'an NGINX value with a bad %-escape',
        NGINX,
        () => undefined,
        () => ({ 'x-client-cert': '%E0%A4%A' }),
        /bad %-escape/,
      ],
      [
        'NGINX $ssl_client_cert (deprecated raw PEM)',
        NGINX,
        () => undefined,
        () => ({ 'x-client-cert': writer.certPem.trim().split('\n').join(' ') }),
        /\$ssl_client_escaped_cert/,
      ],
      [
        'an XFCC forged Hash',
        ENVOY,
        () => envoyProxy,
        () => ({
          'x-forwarded-client-cert': `Hash=${sha256Hex(reader.certPem)};Cert="${urlEncodedPem(writer.certPem)}"`,
        }),
        /Hash is not the SHA-256 of Cert/,
      ],
      [
        'an XFCC element that does not parse',
        ENVOY,
        () => envoyProxy,
        () => ({ 'x-forwarded-client-cert': 'Cert="unterminated' }),
        /unterminated/,
      ],
      [
        'an oversized Client-Cert (over 16 KiB)',
        RFC9440,
        () => undefined,
        () => ({ 'client-cert': `:${'A'.repeat(17 * 1024)}:` }),
        /larger than 16384/,
      ],
      [
        'a Client-Cert-Chain over 8 certificates',
        RFC9440,
        () => undefined,
        () => ({
          'client-cert': byteSequence(writer.certPem),
          'client-cert-chain': Array(9).fill(byteSequence(reader.certPem)).join(', '),
        }),
        /more than 8/,
      ],
      [
        'ALB headers that disagree',
        ALB,
        () => albProxy,
        () => ({
          'x-amzn-mtls-clientcert': albEncodedPem(writer.certPem),
          'x-amzn-mtls-clientcert-leaf': albEncodedPem(reader.certPem),
        }),
        /different certificates/,
      ],
    ];
    for (const [name, from, tls, headers, reason] of malformed) {
      test(`fail/${name} from a trusted proxy → 401 invalid_client saying why, never a 500`, async () => {
        const r = await token(from, tls(), writer.clientId, headers());
        assert.equal(r.status, 401, JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_client');
        assert.match(String(r.json.error_description), /^forwarded client certificate refused: /);
        assert.match(String(r.json.error_description), reason);
        assert.equal(r.json.access_token, undefined);
      });
    }
  });
}

/** A leaf of `issuer` with its private key, for a proxy's own TLS client certificate. */
async function keyedLeaf(issuer: CaMaterial, name: string): Promise<ClientCredential> {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const from = new Date(Date.now() - DAY);
  const cert = await buildPartnerCertificate({
    issuer,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId: name, orgId: 'org_proxy', orgName: 'Proxy Operator' },
    serialHex: randomSerialHex(),
    notBefore: from,
    notAfter: new Date(from.getTime() + 30 * DAY),
    crlUrl: 'https://proxy.example/crl',
  });
  return {
    certPem: cert.certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    x5tS256: cert.x5tS256,
  };
}
