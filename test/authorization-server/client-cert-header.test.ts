import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Agent } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import { type CertificateAuthority, createRootCa } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { type ClientCredential, csrWithKey, foreignCredential, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
// The only trusted proxy: 127.0.0.0/8 is loopback on Linux, so a client can connect from either address.
const PROXY = '127.0.0.2';
const DAY = 86_400_000;

interface App extends ClientCredential {
  clientId: string;
}

const foreignCaPem = async () =>
  (
    await createRootCa({
      commonName: 'Other Root',
      organization: 'Other',
      now: new Date(),
      validityDays: 365,
    })
  ).certPem;

/** RFC 9440 §2.1: the certificate as an RFC 8941 Byte Sequence. */
const clientCertHeader = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;

const cnfOf = (accessToken: unknown) =>
  (JSON.parse(Buffer.from(String(accessToken).split('.')[1] ?? '', 'base64url').toString()) as {
    client_id?: string;
    cnf?: Record<string, string>;
  }) ?? {};

for (const target of targets) {
  describe(`token endpoint: RFC 9440 Client-Cert only from a trusted proxy: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    let ca: CertificateAuthority;
    const servers: Server[] = [];
    const agents: Agent[] = [];
    const fetcher = testPartnerFetcher();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = { actor: 'operator:test', now };
    let reader: App;
    let writer: App;
    let current: string;
    let later: string;
    let otherCa: string;

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

    const platformCas = () =>
      ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

    /** The authorization server behind a TLS listener that asks for (but does not require) a certificate. */
    async function startAs(clock: () => Date, trustedCas = platformCas()): Promise<string> {
      const server = createServer({
        ...(await serverTlsFrom(ca)),
        requestCert: true,
        rejectUnauthorized: false,
        // The listener trusts the CAs the authorization server does.
        ca: trustedCas,
        minVersion: 'TLSv1.2',
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock,
        logger: pino({ level: 'silent' }),
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas,
        trustedProxies: [PROXY],
        fetcher,
      });
      server.on('request', as.handle);
      return baseUrl;
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
      current = await startAs(() => now);
      // After the certificates' notAfter (the CA issues them for 90 days).
      later = await startAs(() => new Date(now.getTime() + 120 * DAY));
      // Trusts another CA only, as after the platform CA that issued the certificates was replaced.
      otherCa = await startAs(() => now, [await foreignCaPem()]);
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await storage?.close();
      await fetcher.close();
      await target.cleanup();
    });

    /** A connection from `from`, presenting `tls` as its own TLS client certificate if given. */
    function agent(from: string, tls?: ClientCredential): Agent {
      const a = new Agent({
        localAddress: from,
        connect: { ca: ca.chainPem, ...(tls ? { cert: tls.certPem, key: tls.keyPem } : {}) },
      });
      agents.push(a);
      return a;
    }

    async function formPost(via: Agent, origin: string, clientId: string, headers: Record<string, string>) {
      const res = await via.request({
        origin,
        path: '/token',
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown> };
    }

    test('ok/the TLS peer certificate authenticates the client and binds its token (RFC 8705 §2.1, §3)', async () => {
      const r = await formPost(agent('127.0.0.1', reader), current, reader.clientId, {});
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(cnfOf(r.json.access_token).cnf?.['x5t#S256'], reader.x5tS256);
    });

    test('ok/a Client-Cert header from the trusted proxy authenticates the client it names (RFC 9440)', async () => {
      const r = await formPost(agent(PROXY), current, writer.clientId, {
        'client-cert': clientCertHeader(writer.certPem),
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const claims = cnfOf(r.json.access_token);
      assert.equal(claims.client_id, writer.clientId);
      assert.equal(claims.cnf?.['x5t#S256'], writer.x5tS256, 'bound to the certificate the proxy passed on');
    });

    const refused: Array<{
      name: string;
      from: string;
      tls?: () => ClientCredential;
      header?: () => string;
      clientId: () => string;
      origin?: () => string;
    }> = [
      {
        name: 'a Client-Cert header from an address that is not a trusted proxy, no TLS certificate',
        from: '127.0.0.1',
        header: () => clientCertHeader(writer.certPem),
        clientId: () => writer.clientId,
      },
      {
        name: "another client's Client-Cert header from an untrusted address beside the caller's own TLS certificate",
        from: '127.0.0.1',
        tls: () => reader,
        header: () => clientCertHeader(writer.certPem),
        clientId: () => writer.clientId,
      },
      {
        name: 'a Client-Cert header from the trusted proxy that is not a Byte Sequence (the TLS certificate is not used instead)',
        from: PROXY,
        tls: () => reader,
        header: () => new X509Certificate(writer.certPem).raw.toString('base64'),
        clientId: () => reader.clientId,
      },
      {
        name: 'a Client-Cert header from the trusted proxy with a certificate of another CA',
        from: PROXY,
        header: () => clientCertHeader(foreign.certPem),
        clientId: () => writer.clientId,
      },
      {
        name: 'a Client-Cert header from the trusted proxy with a platform certificate of a CA this server does not trust',
        from: PROXY,
        header: () => clientCertHeader(writer.certPem),
        clientId: () => writer.clientId,
        origin: () => otherCa,
      },
      {
        name: 'a TLS certificate of a CA this server does not trust, although the platform issued it',
        from: '127.0.0.1',
        tls: () => reader,
        clientId: () => reader.clientId,
        origin: () => otherCa,
      },
      {
        name: 'a Client-Cert header from the trusted proxy with a platform certificate past its notAfter',
        from: PROXY,
        header: () => clientCertHeader(writer.certPem),
        clientId: () => writer.clientId,
        origin: () => later,
      },
    ];
    let foreign: ClientCredential;
    before(async () => {
      foreign = await foreignCredential('foreign-client', 'foreign-org');
    });
    for (const c of refused) {
      test(`fail/${c.name} → 401 invalid_client`, async () => {
        const r = await formPost(
          agent(c.from, c.tls?.()),
          c.origin?.() ?? current,
          c.clientId(),
          c.header ? { 'client-cert': c.header() } : {},
        );
        assert.equal(r.status, 401, JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_client');
        assert.equal(r.json.access_token, undefined);
      });
    }

    test("ok/from an untrusted address the caller's own TLS certificate counts, whatever Client-Cert says", async () => {
      const r = await formPost(agent('127.0.0.1', reader), current, reader.clientId, {
        'client-cert': clientCertHeader(writer.certPem),
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(
        cnfOf(r.json.access_token).cnf?.['x5t#S256'],
        reader.x5tS256,
        'bound to the TLS certificate',
      );
    });
  });
}
