import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, SignJWT } from 'jose';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import {
  createApplication,
  createOrganisation,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const silent = pino({ level: 'silent' });

interface Cert {
  clientId: string;
  certPem: string;
  keyPem: string;
  x5t: string;
}

/**
 * RFC 8705 §3: a private_key_jwt client binds its token to whatever certificate it presents. A certificate the
 * platform issued must bind only for its own application (or the software of a dynamic client), only while that
 * application and its organisation are active (issue 9, finding 6).
 */
describe('certificate-bound tokens for a private_key_jwt client (RFC 8705 §3)', { timeout: 60_000 }, () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let server: Server;
  let tokenUrl: string;
  const agents: Agent[] = [];
  const fetcher = testPartnerFetcher();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const meta = { actor: 'operator:test', now };
  const assertionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let acme: string;
  let globex: string;
  let jwtClient: string;
  let own: Cert;
  let sibling: Cert;
  let suspendedSibling: Cert;
  let otherOrg: Cert;
  let suspendedOrgCert: Cert;

  async function issue(orgId: string, name: string, clientId?: string): Promise<Cert> {
    const id =
      clientId ??
      (await storage.transaction((tx) =>
        createApplication(
          tx,
          { orgId, name, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          meta,
        ),
      ));
    const { csrPem, keyPem } = await csrWithKey();
    const view = await storage.transaction((tx) => ca.issue(tx, { clientId: id, csrPem }, meta));
    return { clientId: id, certPem: view.certificate_pem, keyPem, x5t: view.x5t_s256 };
  }

  before(async () => {
    const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
    assert.ok(sqlite);
    storage = await seededStorage(sqlite);
    ca = await installCa(storage);
    await storage.db
      .insertInto('signing_keys')
      .values(await createSigningKey('access_token', 'ES256', KEK, now))
      .execute();
    acme = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
    globex = await storage.transaction((tx) => createOrganisation(tx, { name: 'Globex' }, meta));
    const dormant = await storage.transaction((tx) => createOrganisation(tx, { name: 'Dormant' }, meta));
    const jwk = { ...(await exportJWK(assertionKey.publicKey)), kid: 'assertion', alg: 'ES256', use: 'sig' };
    jwtClient = await storage.transaction((tx) =>
      createApplication(
        tx,
        {
          orgId: acme,
          name: 'Signer',
          roles: ['partner_reader'],
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [jwk] } },
        },
        meta,
      ),
    );
    own = await issue(acme, 'Signer', jwtClient);
    sibling = await issue(acme, 'Sibling');
    suspendedSibling = await issue(acme, 'Suspended sibling');
    otherOrg = await issue(globex, 'Globex app');
    suspendedOrgCert = await issue(dormant, 'Dormant app');
    await storage.transaction((tx) => setApplicationStatus(tx, suspendedSibling.clientId, 'suspended', meta));
    await storage.transaction((tx) => setOrganisationStatus(tx, dormant, 'suspended', meta));

    const tls = await serverTlsFrom(ca);
    server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
    tokenUrl = `${baseUrl}/token`;
    const as = await createAuthorizationServer({
      storage,
      kek: KEK,
      clock: () => now,
      logger: silent,
      issuer: ISSUER,
      mtlsUrl: baseUrl,
      audience: AUDIENCE,
      accessTokenTtlSeconds: 300,
      trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
      trustedProxies: [],
      fetcher,
    });
    server.on('request', as.handle);
  });

  after(async () => {
    for (const agent of agents) await agent.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await storage?.close();
    await fetcher.close();
  });

  async function requestToken(cert: Cert): Promise<{ status: number; body: Record<string, unknown> }> {
    const agent = new Agent({ connect: { ca: ca.chainPem, cert: cert.certPem, key: cert.keyPem } });
    agents.push(agent);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'assertion' })
      .setIssuer(jwtClient)
      .setSubject(jwtClient)
      .setAudience(ISSUER)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(assertionKey.privateKey);
    const response = await undiciFetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: jwtClient,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString(),
      dispatcher: agent,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  test('ok/its own certificate binds the token (cnf.x5t#S256)', async () => {
    const res = await requestToken(own);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = decodeJwt(String(res.body.access_token));
    assert.deepEqual(claims.cnf, { 'x5t#S256': own.x5t });
  });

  const refusals: Array<{ name: string; cert: () => Cert; description: RegExp }> = [
    {
      name: 'fail/the certificate of another application of the same organisation',
      cert: () => sibling,
      description: /issued to another application/,
    },
    {
      name: 'fail/the certificate of a suspended application of the same organisation',
      cert: () => suspendedSibling,
      description: /issued to another application/,
    },
    {
      name: 'fail/the certificate of another organisation’s application',
      cert: () => otherOrg,
      description: /issued to another application/,
    },
    {
      name: 'fail/the certificate of an application of a suspended organisation',
      cert: () => suspendedOrgCert,
      description: /issued to another application/,
    },
  ];
  for (const c of refusals) {
    test(c.name, async () => {
      const res = await requestToken(c.cert());
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_grant');
      assert.match(String(res.body.error_description), c.description);
      assert.equal(res.body.access_token, undefined);
    });
  }
});
