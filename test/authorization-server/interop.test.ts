import assert from 'node:assert/strict';
import { randomUUID, webcrypto } from 'node:crypto';
import { createServer, get as httpsGet, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  type AuthorizationServer,
  createAuthorizationServer,
  openIdProviderMetadata,
} from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

// The issue 9 interoperability run, replayed with an outside client (oauth4webapi) over real TLS: what the
// discovery document and the Entity Configuration promise works, and what fails says why.
const [target] = (await engineTargets()).filter((t) => t.name === 'sqlite');
const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const FEDERATION_REGISTRATION = `${ISSUER}/federation/registration`;
const silent = pino({ level: 'silent' });
const fetcher = testPartnerFetcher();

// RFC 8414 §2 and OpenID Connect Discovery 1.0 §3: REQUIRED members of an OP's metadata.
const REQUIRED_OP_MEMBERS = [
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'response_types_supported',
  'subject_types_supported',
  'id_token_signing_alg_values_supported',
] as const;

describe('interoperability: metadata and token errors an outside client relies on', {
  timeout: 120_000,
}, () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let server: Server;
  let baseUrl: string;
  let as: AuthorizationServer;
  let metadata: oauth.AuthorizationServer;
  const agents: Agent[] = [];
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const meta = { actor: 'operator:test', now };
  let mtlsClient: { clientId: string; agent: Agent };
  let jwtClient: { clientId: string; privateKey: webcrypto.CryptoKey; agent: Agent };
  let anonymous: Agent;

  /** A fetch over one undici agent: its client certificate (or none) is what the AS sees. */
  const fetchWith =
    (agent: Agent) =>
    (url: string, init?: RequestInit): Promise<Response> =>
      undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;

  function agent(credential?: { certPem: string; keyPem: string }): Agent {
    const a = new Agent({
      connect: { ca: ca.chainPem, ...(credential && { cert: credential.certPem, key: credential.keyPem }) },
    });
    agents.push(a);
    return a;
  }

  async function issued(orgId: string, clientId: string) {
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
    return { certPem: cert.certificate_pem, keyPem, orgId };
  }

  before(async () => {
    storage = await seededStorage(target!);
    ca = await installCa(storage);
    await storage.db
      .insertInto('signing_keys')
      .values(await createSigningKey('access_token', 'ES256', KEK, now))
      .execute();
    const org = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
    const mtlsId = await storage.transaction((tx) =>
      createApplication(
        tx,
        { orgId: org, name: 'Payments', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
        meta,
      ),
    );
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwtId = await storage.transaction((tx) =>
      createApplication(
        tx,
        {
          orgId: org,
          name: 'Reporting',
          roles: ['partner_reader'],
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [jwk] } },
        },
        meta,
      ),
    );

    server = createServer({
      ...(await serverTlsFrom(ca)),
      requestCert: true,
      rejectUnauthorized: false,
      ca: ca.chainPem,
      minVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
    as = await createAuthorizationServer({
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
    anonymous = agent();
    mtlsClient = { clientId: mtlsId, agent: agent(await issued(org, mtlsId)) };
    // The private_key_jwt client binds its tokens to a certificate the platform issued it.
    jwtClient = { clientId: jwtId, privateKey: keys.privateKey, agent: agent(await issued(org, jwtId)) };
    const response = await fetchWith(anonymous)(`${baseUrl}/.well-known/oauth-authorization-server`);
    metadata = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
  });

  after(async () => {
    for (const a of agents) await a.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await storage?.close();
    await target?.cleanup();
    await fetcher.close();
  });

  const options = (a: Agent) => ({ [oauth.customFetch]: fetchWith(a) }) as const;

  async function mtlsToken(): Promise<string> {
    const client = { client_id: mtlsClient.clientId, use_mtls_endpoint_aliases: true };
    const response = await oauth.clientCredentialsGrantRequest(
      metadata,
      client,
      oauth.TlsClientAuth(),
      new URLSearchParams(),
      options(mtlsClient.agent),
    );
    return (await oauth.processClientCredentialsResponse(metadata, client, response)).access_token;
  }

  describe('RFC 8414 §2: introspection and revocation say how a client authenticates (issue 9 item 11)', () => {
    for (const endpoint of ['introspection', 'revocation'] as const) {
      test(`ok/${endpoint}_endpoint_auth_methods_supported is the token endpoint's, with its signing algorithms`, () => {
        assert.deepEqual(
          metadata[`${endpoint}_endpoint_auth_methods_supported`],
          metadata.token_endpoint_auth_methods_supported,
        );
        assert.ok(!metadata[`${endpoint}_endpoint_auth_methods_supported`]?.includes('client_secret_basic'));
        // RFC 8414 §2: MUST be present when private_key_jwt is among the methods.
        assert.deepEqual(
          metadata[`${endpoint}_endpoint_auth_signing_alg_values_supported`],
          metadata.token_endpoint_auth_signing_alg_values_supported,
        );
      });
    }

    test('ok/oauth4webapi introspects and revokes with tls_client_auth, an advertised method', async () => {
      assert.ok(metadata.introspection_endpoint_auth_methods_supported?.includes('tls_client_auth'));
      const client = { client_id: mtlsClient.clientId, use_mtls_endpoint_aliases: true };
      const token = await mtlsToken();
      const introspect = async () =>
        oauth.processIntrospectionResponse(
          metadata,
          client,
          await oauth.introspectionRequest(
            metadata,
            client,
            oauth.TlsClientAuth(),
            token,
            options(mtlsClient.agent),
          ),
        );
      assert.equal((await introspect()).active, true);
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(
          metadata,
          client,
          oauth.TlsClientAuth(),
          token,
          options(mtlsClient.agent),
        ),
      );
      assert.equal((await introspect()).active, false);
    });

    test('ok/oauth4webapi introspects with private_key_jwt, an advertised method', async () => {
      assert.ok(metadata.introspection_endpoint_auth_methods_supported?.includes('private_key_jwt'));
      const client = { client_id: jwtClient.clientId, use_mtls_endpoint_aliases: true };
      const auth = oauth.PrivateKeyJwt(jwtClient.privateKey);
      const { access_token } = await oauth.processClientCredentialsResponse(
        metadata,
        client,
        await oauth.clientCredentialsGrantRequest(
          metadata,
          client,
          auth,
          new URLSearchParams(),
          options(jwtClient.agent),
        ),
      );
      const response = await oauth.introspectionRequest(
        metadata,
        client,
        auth,
        access_token,
        options(jwtClient.agent),
      );
      assert.equal((await oauth.processIntrospectionResponse(metadata, client, response)).active, true);
    });

    test('fail/client_secret_basic, which is not advertised, is refused at introspection', async () => {
      const client = { client_id: mtlsClient.clientId, use_mtls_endpoint_aliases: true };
      const response = await oauth.introspectionRequest(
        metadata,
        client,
        oauth.ClientSecretBasic('not-a-secret'),
        await mtlsToken(),
        options(anonymous),
      );
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    });
  });

  describe('no end-user flow endpoints are advertised while there is no end-user login', () => {
    for (const member of ['userinfo_endpoint', 'end_session_endpoint']) {
      test(`fail/discovery and the Entity Configuration do not advertise ${member}`, async () => {
        assert.equal(member in metadata, false);
        const op = await openIdProviderMetadata(as, {
          federationRegistrationEndpoint: FEDERATION_REGISTRATION,
        });
        assert.equal(member in op, false);
      });
    }
  });

  describe('RFC 9449: DPoP is advertised with asymmetric algorithms only (issue 14)', () => {
    test('ok/discovery advertises dpop_signing_alg_values_supported, no none, no MAC', () => {
      assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'PS256', 'EdDSA']);
    });

    test('ok/the Entity Configuration’s openid_provider advertises the same', async () => {
      const op = await openIdProviderMetadata(as, {
        federationRegistrationEndpoint: FEDERATION_REGISTRATION,
      });
      assert.deepEqual(op.dpop_signing_alg_values_supported, metadata.dpop_signing_alg_values_supported);
    });

    test('fail/a DPoP proof without a server nonce: use_dpop_nonce with a DPoP-Nonce header (§8)', async () => {
      const { publicKey, privateKey } = (await webcrypto.subtle.generateKey(
        { name: 'ECDSA', namedCurve: 'P-256' },
        true,
        ['sign', 'verify'],
      )) as webcrypto.CryptoKeyPair;
      const htu = `${baseUrl}/token`;
      const proof = await new SignJWT({
        htm: 'POST',
        htu,
        jti: randomUUID(),
        iat: Math.floor(Date.now() / 1000),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
        .sign(privateKey);
      const response = await fetchWith(mtlsClient.agent)(htu, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: mtlsClient.clientId,
        }).toString(),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(body.error, 'use_dpop_nonce');
      assert.ok(response.headers.get('dpop-nonce'));
    });
  });

  describe('OpenID Federation §5.1.3: the Entity Configuration’s openid_provider is the discovery document (issue 9 item 14)', () => {
    test('ok/every member of the discovery document, equal values, plus the federation-only members', async () => {
      const discovery = await as.discoveryMetadata();
      const op = await openIdProviderMetadata(as, {
        federationRegistrationEndpoint: FEDERATION_REGISTRATION,
      });
      for (const member of REQUIRED_OP_MEMBERS) assert.notEqual(op[member], undefined, member);
      assert.deepEqual(op.subject_types_supported, ['public']);
      assert.deepEqual(op.id_token_signing_alg_values_supported, ['ES256']);
      const { client_registration_types_supported, federation_registration_endpoint, ...rest } = op;
      assert.deepEqual(rest, discovery);
      assert.deepEqual(client_registration_types_supported, ['automatic', 'explicit']);
      assert.equal(federation_registration_endpoint, FEDERATION_REGISTRATION);
    });

    test('ok/the in-process document is the one served to a client of the issuer', async () => {
      // The server certificate names localhost: the issuer's host goes in the Host header only.
      const document = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = httpsGet(
          {
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
            path: '/.well-known/openid-configuration',
            servername: 'localhost',
            ca: ca.chainPem,
            headers: { host: new URL(ISSUER).host },
            agent: false,
          },
          (res) => {
            let text = '';
            res.on('data', (chunk) => {
              text += chunk;
            });
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(JSON.parse(text))
                : reject(new Error(`HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
      });
      assert.equal(document.token_endpoint, `${ISSUER}/token`);
      assert.deepEqual(await as.discoveryMetadata(), document);
    });
  });

  describe('RFC 8705 §3: a token request that cannot be bound says what is missing (issue 9 item 15)', () => {
    const request = (a: Agent) => {
      const client = { client_id: jwtClient.clientId, use_mtls_endpoint_aliases: true };
      return oauth.clientCredentialsGrantRequest(
        metadata,
        client,
        oauth.PrivateKeyJwt(jwtClient.privateKey),
        new URLSearchParams(),
        options(a),
      );
    };

    test('ok/private_key_jwt with a client certificate: a token bound to it', async () => {
      const client = { client_id: jwtClient.clientId, use_mtls_endpoint_aliases: true };
      const result = await oauth.processClientCredentialsResponse(
        metadata,
        client,
        await request(jwtClient.agent),
      );
      const claims = JSON.parse(Buffer.from(result.access_token.split('.')[1]!, 'base64url').toString());
      assert.equal(typeof claims.cnf['x5t#S256'], 'string');
    });

    test('fail/private_key_jwt without a client certificate: invalid_grant naming the missing certificate', async () => {
      const response = await request(anonymous);
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 400);
      assert.equal(body.error, 'invalid_grant');
      assert.notEqual(body.error_description, 'grant request is invalid');
      assert.match(String(body.error_description), /client certificate is required/);
      assert.match(String(body.error_description), /RFC 8705 §3/);
    });

    test('fail/another token error without a certificate keeps its own description', async () => {
      const client = { client_id: jwtClient.clientId, use_mtls_endpoint_aliases: true };
      const response = await oauth.refreshTokenGrantRequest(
        metadata,
        client,
        oauth.PrivateKeyJwt(jwtClient.privateKey),
        'not-a-refresh-token',
        options(anonymous),
      );
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.doesNotMatch(String(body.error_description), /client certificate is required/);
    });
  });
});
