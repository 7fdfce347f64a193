import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  createOcspChecker,
  externalCaStore,
  refreshExternalCa,
  registerExternalCa,
} from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CrlServer, ExternalCa, type ExternalLeaf } from '../support/external-ca.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const SUBJECT = 'CN=payments,O=Bank AG,C=DE';
const silent = pino({ level: 'silent' });

/**
 * Bring your own CA at the token endpoint (RFC 8705 §2.1.2): a tls_client_auth client of an organisation that
 * registered its CA is authenticated by a certificate of exactly that CA carrying exactly its registered subject
 * DN or subjectAltName, not revoked, with a fresh CRL; never by a look-alike from another CA.
 */
describe('token endpoint: certificates from an organisation’s own CA', { timeout: 60_000 }, () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let server: Server;
  let tokenUrl: string;
  let crls: CrlServer;
  let bank: ExternalCa;
  let otherBank: ExternalCa;
  let bankCaId: string;
  let orgA: string;
  let orgB: string;
  const clients: Record<string, string> = {};
  let leaf: ExternalLeaf;
  let clockOffsetMs = 0;
  const agents: Agent[] = [];
  const fetcher = testPartnerFetcher({ allowLoopback: true, allowPlainHttp: true });
  const meta = () => ({ actor: 'operator:test', now: new Date() });

  const register = (
    orgId: string,
    name: string,
    metadata: Record<string, unknown>,
    authMethod = 'tls_client_auth',
  ) =>
    storage.transaction((tx) =>
      createApplication(tx, { orgId, name, roles: ['partner_reader'], authMethod, metadata }, meta()),
    );

  before(async () => {
    const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
    assert.ok(sqlite);
    storage = await seededStorage(sqlite);
    ca = await installCa(storage);
    await storage.db
      .insertInto('signing_keys')
      .values(await createSigningKey('access_token', 'ES256', KEK, new Date()))
      .execute();
    crls = await CrlServer.start();
    bank = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE', { crlUrl: crls.url });
    otherBank = await ExternalCa.create('CN=Other Issuing CA,O=Other Bank,C=DE', { crlUrl: crls.url });
    orgA = await storage.transaction((tx) => createOrganisation(tx, { name: 'Bank AG' }, meta()));
    orgB = await storage.transaction((tx) => createOrganisation(tx, { name: 'Other Bank' }, meta()));
    for (const [orgId, authority] of [
      [orgA, bank],
      [orgB, otherBank],
    ] as const) {
      const view = await storage.transaction((tx) =>
        registerExternalCa(tx, { orgId, certificatePem: authority.certPem }, meta()),
      );
      if (orgId === orgA) bankCaId = view.id;
      crls.serve(await authority.crl([]));
      await refreshExternalCa(storage, fetcher, view.id, new Date());
    }
    // The same subject, spelled differently: compared as a DN.
    clients.subject = await register(orgA, 'Payments', {
      tls_client_auth_subject_dn: 'CN=payments, O=Bank AG, C=DE',
    });
    clients.dns = await register(orgA, 'Dns', { tls_client_auth_san_dns: 'API.bank.example' });
    clients.uri = await register(orgA, 'Uri', { tls_client_auth_san_uri: 'spiffe://bank.example/payments' });
    clients.ip = await register(orgA, 'Ip', { tls_client_auth_san_ip: '2001:db8:0:0::1' });
    clients.email = await register(orgA, 'Email', {
      tls_client_auth_san_email: 'ops@BANK.example',
      tls_client_auth_ca_id: bankCaId,
    });
    clients.otherOrg = await register(orgB, 'Look-alike', { tls_client_auth_subject_dn: SUBJECT });
    leaf = await bank.issue({
      subject: SUBJECT,
      dns: ['api.bank.example'],
      uris: ['spiffe://bank.example/payments'],
      ips: ['2001:db8::1'],
      emails: ['ops@bank.example'],
    });

    const tls = await serverTlsFrom(ca);
    server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
    tokenUrl = `${baseUrl}/token`;
    const as = await createAuthorizationServer({
      storage,
      kek: KEK,
      clock: () => new Date(Date.now() + clockOffsetMs),
      logger: silent,
      issuer: ISSUER,
      mtlsUrl: baseUrl,
      audience: AUDIENCE,
      accessTokenTtlSeconds: 300,
      trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
      trustedProxies: [],
      fetcher,
      checkOcsp: createOcspChecker(fetcher),
    });
    server.on('request', as.handle);
  });

  after(async () => {
    for (const agent of agents) await agent.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await crls?.close();
    await storage?.close();
    await fetcher.close();
  });

  async function requestToken(
    clientId: string,
    cert: ExternalLeaf,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const agent = new Agent({ connect: { ca: ca.chainPem, cert: cert.certPem, key: cert.keyPem } });
    agents.push(agent);
    const response = await undiciFetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
      dispatcher: agent,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  for (const kind of ['subject', 'dns', 'uri', 'ip', 'email']) {
    test(`ok/${kind}: the registered value, from the organisation's CA, binds the token (cnf.x5t#S256)`, async () => {
      const res = await requestToken(clients[kind] as string, leaf);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(decodeJwt(String(res.body.access_token)).cnf, { 'x5t#S256': leaf.x5tS256 });
    });
  }

  const refusals: Array<{ name: string; client: () => string; cert: () => Promise<ExternalLeaf> }> = [
    {
      name: 'fail/the same names from an unregistered CA with the same name (not pinned)',
      client: () => clients.subject as string,
      cert: async () =>
        (await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE')).issue({
          subject: SUBJECT,
          dns: ['api.bank.example'],
        }),
    },
    {
      name: 'fail/the same subject from another organisation’s registered CA',
      client: () => clients.subject as string,
      cert: () => otherBank.issue({ subject: SUBJECT }),
    },
    {
      name: 'fail/our CA’s certificate for another organisation’s client with the same subject',
      client: () => clients.otherOrg as string,
      cert: async () => leaf,
    },
    {
      name: 'fail/another subject from the right CA',
      client: () => clients.subject as string,
      cert: () => bank.issue({ subject: 'CN=payments2,O=Bank AG,C=DE' }),
    },
    {
      name: 'fail/another DNS name from the right CA',
      client: () => clients.dns as string,
      cert: () => bank.issue({ subject: SUBJECT, dns: ['api2.bank.example'] }),
    },
    {
      name: 'fail/a server-only certificate (EKU without clientAuth)',
      client: () => clients.subject as string,
      cert: () => bank.issue({ subject: SUBJECT, eku: ['1.3.6.1.5.5.7.3.1'] }),
    },
  ];
  for (const c of refusals) {
    test(c.name, async () => {
      const res = await requestToken(c.client(), await c.cert());
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_client');
      assert.equal(res.body.access_token, undefined);
    });
  }

  test('fail/an OCSP responder is configured but gives no answer: refused (fail closed)', async () => {
    const ocspBank = await ExternalCa.create('CN=OCSP Bank CA,O=Bank AG,C=DE', { crlUrl: crls.url });
    const view = await storage.transaction((tx) =>
      registerExternalCa(
        tx,
        { orgId: orgA, certificatePem: ocspBank.certPem, ocspUrl: 'http://127.0.0.1:9/ocsp' },
        meta(),
      ),
    );
    crls.serve(await ocspBank.crl([]));
    await refreshExternalCa(storage, fetcher, view.id, new Date());
    const client = await register(orgA, 'Ocsp client', {
      tls_client_auth_subject_dn: SUBJECT,
      tls_client_auth_ca_id: view.id,
    });
    const res = await requestToken(client, await ocspBank.issue({ subject: SUBJECT }));
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.match(String(res.body.error_description), /issuer_revocation_unavailable/);
  });

  test('fail/revoked at the external CA: refused once the CRL says so', async () => {
    const victim = await bank.issue({ subject: SUBJECT });
    assert.equal((await requestToken(clients.subject as string, victim)).status, 200);
    crls.serve(await bank.crl([victim.serial]));
    await refreshExternalCa(storage, fetcher, bankCaId, new Date());
    const res = await requestToken(clients.subject as string, victim);
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
    assert.match(String(res.body.error_description), /certificate_revoked/);
  });

  test('fail/stale CRL (past nextUpdate + tolerance): refused, fail closed', async () => {
    const [view] = await externalCaStore(storage.db).ofOrganisation(orgA);
    clockOffsetMs = Date.parse(String(view?.crl.stale_after)) - Date.now() + 60_000;
    try {
      const res = await requestToken(clients.subject as string, leaf);
      assert.equal(res.status, 401);
      assert.match(String(res.body.error_description), /issuer_revocation_stale/);
    } finally {
      clockOffsetMs = 0;
    }
  });

  const badRegistrations: Array<{
    name: string;
    orgId: () => string;
    metadata: Record<string, unknown> | (() => Record<string, unknown>);
    method?: string;
  }> = [
    {
      name: 'fail/two subject values (RFC 8705 §2.1.2: exactly one)',
      orgId: () => orgA,
      metadata: { tls_client_auth_subject_dn: SUBJECT, tls_client_auth_san_dns: 'api.bank.example' },
    },
    {
      name: 'fail/a SAN value for a private_key_jwt client',
      orgId: () => orgA,
      metadata: { tls_client_auth_san_dns: 'api.bank.example', jwks: { keys: [] } },
      method: 'private_key_jwt',
    },
    { name: 'fail/not a DN', orgId: () => orgA, metadata: { tls_client_auth_subject_dn: 'not a dn' } },
    { name: 'fail/not an IP', orgId: () => orgA, metadata: { tls_client_auth_san_ip: '300.1.1.1' } },
    {
      name: 'fail/a CA of another organisation',
      orgId: () => orgB,
      metadata: () => ({ tls_client_auth_subject_dn: SUBJECT, tls_client_auth_ca_id: bankCaId }),
    },
  ];
  for (const c of badRegistrations) {
    test(c.name, async () => {
      await assert.rejects(
        register(
          c.orgId(),
          `Bad ${Math.random()}`,
          typeof c.metadata === 'function' ? c.metadata() : c.metadata,
          c.method,
        ),
        (err: { status?: number }) => err.status === 400,
      );
    });
  }

  test('fail/an organisation without a registered CA cannot match clients by name', async () => {
    const orgC = await storage.transaction((tx) => createOrganisation(tx, { name: 'No CA Corp' }, meta()));
    await assert.rejects(
      register(orgC, 'Nope', { tls_client_auth_san_dns: 'x.example' }),
      /no registered CA/,
    );
  });
});
