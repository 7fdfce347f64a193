import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { Agent, fetch as undiciFetch } from 'undici';
import { rotateRefreshToken } from '../../src/authorization-server/fapi/index.ts';
import {
  type AuthorizationServer,
  accountStore,
  createAuthorizationServer,
} from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { capturingLogger, csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';
import { obtainAuthorizationCode } from './support/obtain-authorization-code.ts';

// FAPI 2.0 Security Profile negatives, modelled on the OpenID conformance suite's FAPI 2.0 Security Profile
// test plans (fapi2-security-profile-final-*), at the authorization server over real TLS.

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const CALLBACK = 'https://app.acme.example/cb';
// The end user who signs in and consents when a test needs an authorization code.
const USER = { username: 'alice@acme.example', password: 'correct horse battery staple' };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Reply {
  status: number;
  location: string | null;
  body: Record<string, unknown>;
}

interface Client {
  clientId: string;
  agent: Agent;
}

interface KeyClient extends Client {
  privateKey: KeyObject;
  kid: string;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const target of targets) {
  describe(`FAPI 2.0 Security Profile at the authorization server: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    const partnerFetcher = testPartnerFetcher();
    let ca: CertificateAuthority;
    let server: Server;
    let baseUrl: string;
    let anonymous: Agent;
    const agents: Agent[] = [];
    // The AS clock: movable, so a pushed request can outlive its lifetime without waiting for it.
    let clockMs = Math.floor(Date.now() / 1000) * 1000;
    const meta = { actor: 'operator:test', now: new Date(clockMs) };
    let mtlsFapi: Client; // tls_client_auth, held to the platform's profile (2.0)
    let mtlsOptedOut: Client; // tls_client_auth, fapi_profile "off"
    let keyFapi: KeyClient; // private_key_jwt, profile 2.0, no certificate
    let keyOptedOut: KeyClient; // private_key_jwt, fapi_profile "off"
    let authorizationServer: AuthorizationServer;

    function agentFor(cert?: { certPem: string; keyPem: string }): Agent {
      const agent = new Agent({
        connect: { ca: ca.chainPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
      });
      agents.push(agent);
      return agent;
    }

    async function mtlsClient(
      orgId: string,
      name: string,
      metadata: Record<string, unknown>,
    ): Promise<Client> {
      const clientId = await storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId,
            name,
            roles: ['partner_reader'],
            authMethod: 'tls_client_auth',
            registrationType: 'dynamic',
            metadata: {
              grant_types: ['authorization_code', 'client_credentials'],
              redirect_uris: [CALLBACK],
              ...metadata,
            },
          },
          meta,
        ),
      );
      const { csrPem, keyPem } = await csrWithKey();
      const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
      return { clientId, agent: agentFor({ certPem: cert.certificate_pem, keyPem }) };
    }

    async function keyClient(
      orgId: string,
      name: string,
      metadata: Record<string, unknown>,
    ): Promise<KeyClient> {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const kid = randomUUID();
      const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'ES256' };
      const clientId = await storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId,
            name,
            roles: ['partner_reader'],
            authMethod: 'private_key_jwt',
            registrationType: 'dynamic',
            metadata: {
              grant_types: ['authorization_code', 'client_credentials'],
              redirect_uris: [CALLBACK],
              jwks: { keys: [jwk] },
              ...metadata,
            },
          },
          meta,
        ),
      );
      return { clientId, agent: anonymous, privateKey, kid };
    }

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      const accessKey = await createSigningKey('access_token', 'ES256', KEK, meta.now);
      await storage.db.insertInto('signing_keys').values([accessKey]).execute();
      const acme = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
      await accountStore(storage.db, KEK).add(USER, meta.now);

      const tls = await serverTlsFrom(ca);
      server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      anonymous = agentFor();
      mtlsFapi = await mtlsClient(acme, 'Payments', {});
      mtlsOptedOut = await mtlsClient(acme, 'Legacy', { fapi_profile: 'off' });
      keyFapi = await keyClient(acme, 'Keyed', {});
      keyOptedOut = await keyClient(acme, 'Keyed legacy', { fapi_profile: 'off' });

      authorizationServer = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => new Date(clockMs),
        logger: capturingLogger().logger,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher: partnerFetcher,
        fapi: { profile: '2.0' },
      });
      server.on('request', authorizationServer.handle);
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await partnerFetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    async function send(
      method: 'GET' | 'POST',
      path: string,
      agent: Agent,
      form?: Record<string, string>,
      headers: Record<string, string> = {},
    ): Promise<Reply> {
      const response = await undiciFetch(`${baseUrl}${path}`, {
        method,
        redirect: 'manual',
        headers: form ? { 'content-type': 'application/x-www-form-urlencoded', ...headers } : headers,
        body: form ? new URLSearchParams(form).toString() : undefined,
        dispatcher: agent,
      });
      const text = await response.text();
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = { text };
      }
      return { status: response.status, location: response.headers.get('location'), body };
    }

    const pkce = async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
    };

    async function parParams(
      overrides: Record<string, string | undefined> = {},
    ): Promise<Record<string, string>> {
      const { challenge } = await pkce();
      const params: Record<string, string | undefined> = {
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'accounts:read',
        state: randomUUID(),
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...overrides,
      };
      return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >;
    }

    const par = (client: Client, params: Record<string, string>) =>
      send('POST', '/request', client.agent, { client_id: client.clientId, ...params });

    async function clientAssertion(
      client: KeyClient,
      overrides: Record<string, unknown> = {},
      alg = 'ES256',
    ) {
      const now = seconds(clockMs);
      return new SignJWT({
        iss: client.clientId,
        sub: client.clientId,
        aud: ISSUER,
        jti: randomUUID(),
        iat: now,
        exp: now + 60,
        ...overrides,
      })
        .setProtectedHeader({ alg, kid: client.kid })
        .sign(client.privateKey);
    }

    async function requestObject(client: KeyClient, overrides: Record<string, unknown> = {}, alg = 'ES256') {
      const now = seconds(clockMs);
      const claims: Record<string, unknown> = {
        iss: client.clientId,
        client_id: client.clientId,
        aud: ISSUER,
        jti: randomUUID(),
        iat: now,
        nbf: now,
        exp: now + 300,
        ...(await parParams()),
        ...overrides,
      };
      for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
      return new SignJWT(claims).setProtectedHeader({ alg, kid: client.kid }).sign(client.privateKey);
    }

    async function keyPar(client: KeyClient, params: Record<string, string>, assertion?: string) {
      return send('POST', '/request', client.agent, {
        client_id: client.clientId,
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion ?? (await clientAssertion(client)),
        ...params,
      });
    }

    function assertError(r: Reply, status: number, error: string, description?: RegExp): void {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error, error, JSON.stringify(r.body));
      if (description) assert.match(String(r.body.error_description), description, JSON.stringify(r.body));
    }

    const authorize = (client: Client, params: Record<string, string>) =>
      send('GET', `/auth?${new URLSearchParams({ client_id: client.clientId, ...params })}`, anonymous);

    test('ok/with fapi.profile "off" discovery does not claim PAR is required', async () => {
      const off = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => new Date(clockMs),
        logger: capturingLogger().logger,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: [],
        trustedProxies: [],
        fetcher: partnerFetcher,
        fapi: { profile: 'off' },
      });
      const metadata = await off.discoveryMetadata();
      assert.equal(metadata.require_pushed_authorization_requests, undefined);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      const on = await authorizationServer.discoveryMetadata();
      assert.equal(on.require_pushed_authorization_requests, true);
    });

    test('fail/the directory refuses an unknown fapi_profile in application metadata, nothing created', async () => {
      const orgId = (
        await storage.db
          .selectFrom('applications')
          .select('org_id')
          .where('client_id', '=', mtlsFapi.clientId)
          .executeTakeFirstOrThrow()
      ).org_id;
      for (const value of ['1.0', 'on', 2]) {
        await assert.rejects(
          storage.transaction((tx) =>
            createApplication(
              tx,
              {
                orgId,
                name: `Bad profile ${String(value)}`,
                roles: ['partner_reader'],
                authMethod: 'tls_client_auth',
                metadata: { fapi_profile: value },
              },
              meta,
            ),
          ),
          /fapi_profile/,
        );
      }
      const created = await storage.db
        .selectFrom('applications')
        .select('client_id')
        .where('name', 'like', 'Bad profile%')
        .execute();
      assert.equal(created.length, 0);
    });

    test('ok/discovery advertises what the profile enforces (RFC 8414 §2, RFC 9126 §5, RFC 9207 §3, RFC 7636 §4.3)', async () => {
      const response = await undiciFetch(`${baseUrl}/.well-known/openid-configuration`, {
        dispatcher: anonymous,
      });
      const as = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
      assert.equal(as.require_pushed_authorization_requests, true);
      assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
      assert.equal(as.authorization_response_iss_parameter_supported, true);
      assert.deepEqual(as.response_types_supported, ['code']);
      // No shared secrets. `none` is offered for operator-registered public clients only, which are outside the
      // profile by rule (public-clients.test.ts): a FAPI client is held to its own confidential method.
      for (const method of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt']) {
        assert.ok(!as.token_endpoint_auth_methods_supported?.includes(method), method);
      }
      assert.ok(as.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
      assert.ok(as.token_endpoint_auth_methods_supported?.includes('tls_client_auth'));
      assert.equal(as.tls_client_certificate_bound_access_tokens, true);
      // FAPI 2.0 Message Signing: JARM offered.
      assert.ok((as.response_modes_supported as string[] | undefined)?.includes('jwt'));
      assert.ok(Array.isArray(as.authorization_signing_alg_values_supported));
      for (const alg of ['none', 'HS256', 'RS256']) {
        assert.ok(!as.request_object_signing_alg_values_supported?.includes(alg), alg);
      }
    });

    test('ok/PAR with S256 over mTLS, then the request_uri reaches the interaction (RFC 9126 §4)', async () => {
      const pushed = await par(mtlsFapi, await parParams());
      assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
      const requestUri = String(pushed.body.request_uri);
      assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
      // FAPI 2.0 SP: a request_uri lives less than 600 s.
      assert.ok(Number(pushed.body.expires_in) > 0 && Number(pushed.body.expires_in) <= 60);
      const first = await authorize(mtlsFapi, { request_uri: requestUri });
      assert.equal(first.status, 303, JSON.stringify(first.body));
      assert.match(String(first.location), /\/interaction\//);
    });

    test('fail/a request_uri never issued → invalid_request_uri', async () => {
      const r = await authorize(mtlsFapi, { request_uri: 'urn:ietf:params:oauth:request_uri:never-issued' });
      assertError(r, 400, 'invalid_request_uri');
    });

    test('fail/an authorization request not pushed, for a FAPI client → invalid_request; ok/an opted-out client may', async () => {
      const params = await parParams();
      const refused = await authorize(mtlsFapi, params);
      // The client and its redirect_uri are known: the error goes back to it, with iss (RFC 9207 §2).
      assert.equal(refused.status, 303, JSON.stringify(refused.body));
      const location = new URL(String(refused.location));
      assert.equal(`${location.origin}${location.pathname}`, CALLBACK);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.match(String(location.searchParams.get('error_description')), /Pushed Authorization Request/);
      assert.equal(location.searchParams.get('iss'), ISSUER);
      assert.equal(location.searchParams.get('state'), params.state);
      const optedOut = await authorize(mtlsOptedOut, params);
      assert.equal(optedOut.status, 303, JSON.stringify(optedOut.body));
      assert.match(String(optedOut.location), /\/interaction\//);
    });

    test('fail/the request_uri of another client → refused', async () => {
      const pushed = await par(mtlsFapi, await parParams());
      assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
      const stolen = await authorize(mtlsOptedOut, { request_uri: String(pushed.body.request_uri) });
      // Refused, never an interaction; the error goes to the redirect_uri registered for the client named.
      assert.equal(stolen.status, 303, JSON.stringify(stolen.body));
      const location = new URL(String(stolen.location));
      assert.equal(`${location.origin}${location.pathname}`, CALLBACK);
      assert.match(String(location.searchParams.get('error')), /^invalid_request(_object|_uri)?$/);
    });

    test('fail/an expired request_uri → invalid_request_uri (RFC 9126 §4: expires_in)', async () => {
      const pushed = await par(mtlsFapi, await parParams());
      assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
      const lifetime = Number(pushed.body.expires_in);
      clockMs += (lifetime + 1) * 1000;
      try {
        const late = await authorize(mtlsFapi, { request_uri: String(pushed.body.request_uri) });
        assertError(late, 400, 'invalid_request_uri');
      } finally {
        clockMs -= (lifetime + 1) * 1000;
      }
    });

    const pkceNegatives: Array<[string, Record<string, string | undefined>, RegExp]> = [
      [
        'plain PKCE (RFC 7636 §4.2; FAPI 2.0 SP: S256 only)',
        { code_challenge_method: 'plain' },
        /code_challenge_method/,
      ],
      [
        'no code_challenge (FAPI 2.0 SP: PKCE required)',
        { code_challenge: undefined, code_challenge_method: undefined },
        /PKCE/,
      ],
      ['a code_challenge without its method', { code_challenge_method: undefined }, /code_challenge_method/],
      [
        'a code_challenge not base64url SHA-256 sized (RFC 7636 §4.2)',
        { code_challenge: 'short' },
        /code_challenge/,
      ],
      [
        'no redirect_uri (FAPI 2.0 SP: redirect_uri required at PAR)',
        { redirect_uri: undefined },
        /redirect_uri/,
      ],
    ];
    for (const [name, overrides, description] of pkceNegatives) {
      test(`fail/PAR with ${name} → invalid_request`, async () => {
        const r = await par(mtlsFapi, await parParams(overrides));
        assertError(r, 400, 'invalid_request', description);
      });
    }

    test('fail/PAR with a redirect_uri not registered exactly → invalid_request (RFC 9700 §4.1.3, RFC 9126 §2.1)', async () => {
      for (const redirect of [`${CALLBACK}/`, `${CALLBACK}?x=1`, 'https://app.acme.example/CB']) {
        const r = await par(mtlsFapi, await parParams({ redirect_uri: redirect }));
        assertError(r, 400, 'invalid_request', /redirect_uri/);
      }
    });

    for (const responseType of ['token', 'code id_token', 'id_token', 'code token']) {
      test(`fail/response_type=${responseType} → unsupported_response_type (FAPI 2.0 SP: code only)`, async () => {
        const r = await par(mtlsFapi, await parParams({ response_type: responseType }));
        assertError(r, 400, 'unsupported_response_type');
      });
    }

    test('fail/client authentication by secret or none → invalid_client (FAPI 2.0 SP: mTLS or private_key_jwt only)', async () => {
      const params = await parParams();
      const basic = await send('POST', '/request', anonymous, params, {
        authorization: `Basic ${Buffer.from(`${mtlsFapi.clientId}:secret`).toString('base64')}`,
      });
      assertError(basic, 401, 'invalid_client');
      const post = await send('POST', '/request', anonymous, {
        client_id: mtlsFapi.clientId,
        client_secret: 'secret',
        ...params,
      });
      assertError(post, 401, 'invalid_client');
      // client_id alone over a connection without a certificate: no authentication at all.
      const none = await send('POST', '/request', anonymous, { client_id: mtlsFapi.clientId, ...params });
      assertError(none, 401, 'invalid_client');
      const hmac = `${b64({ alg: 'HS256' })}.${b64({ iss: keyFapi.clientId, sub: keyFapi.clientId, aud: ISSUER })}.c2ln`;
      const secretJwt = await keyPar(keyFapi, params, hmac);
      assertError(secretJwt, 401, 'invalid_client');
    });

    test('ok/private_key_jwt with aud = issuer; fail/aud = the token endpoint for a FAPI client → invalid_client (FAPI 2.0 SP)', async () => {
      const ok = await keyPar(keyFapi, await parParams());
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      const tokenAud = await clientAssertion(keyFapi, { aud: `${baseUrl}/token` });
      const refused = await keyPar(keyFapi, await parParams(), tokenAud);
      assertError(refused, 401, 'invalid_client');
      // RFC 7523 §3 lets other clients name the token endpoint.
      const optedOut = await keyPar(
        keyOptedOut,
        await parParams(),
        await clientAssertion(keyOptedOut, { aud: `${baseUrl}/token` }),
      );
      assert.equal(optedOut.status, 201, JSON.stringify(optedOut.body));
    });

    test('fail/a FAPI client assertion signed with ES384 (not PS256, ES256, EdDSA) → invalid_client; ok/for an opted-out client', async () => {
      for (const profile of ['2.0', 'off']) {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
        const kid = randomUUID();
        const orgId = (
          await storage.db
            .selectFrom('applications')
            .select('org_id')
            .where('client_id', '=', keyFapi.clientId)
            .executeTakeFirstOrThrow()
        ).org_id;
        const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'ES384' };
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId,
              name: `P-384 client ${profile}`,
              roles: ['partner_reader'],
              authMethod: 'private_key_jwt',
              registrationType: 'dynamic',
              metadata: {
                grant_types: ['authorization_code'],
                redirect_uris: [CALLBACK],
                jwks: { keys: [jwk] },
                fapi_profile: profile,
              },
            },
            meta,
          ),
        );
        const client: KeyClient = { clientId, agent: anonymous, privateKey, kid };
        const r = await keyPar(client, await parParams(), await clientAssertion(client, {}, 'ES384'));
        if (profile === '2.0') assertError(r, 401, 'invalid_client');
        else assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });

    test('ok/a signed Request Object at PAR (RFC 9101, FAPI 2.0 Message Signing)', async () => {
      const r = await keyPar(keyFapi, { request: await requestObject(keyFapi) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });

    const now = () => seconds(clockMs);
    const requestObjectNegatives: Array<[string, () => Promise<string>, RegExp]> = [
      ['exp more than 60 minutes after nbf', () => requestObject(keyFapi, { exp: now() + 3700 }), /exp/],
      ['no nbf', () => requestObject(keyFapi, { nbf: undefined }), /nbf/],
      [
        'nbf more than 60 minutes in the past',
        () => requestObject(keyFapi, { nbf: now() - 4000, exp: now() + 60 }),
        /nbf/,
      ],
      ['no exp', () => requestObject(keyFapi, { exp: undefined }), /exp/],
      ['exp before nbf', () => requestObject(keyFapi, { nbf: now(), exp: now() - 1 }), /exp/],
      [
        'aud another server',
        () => requestObject(keyFapi, { aud: 'https://other.example' }),
        /aud|claims are invalid/,
      ],
      [
        'aud the token endpoint',
        () => requestObject(keyFapi, { aud: `${ISSUER}/token` }),
        /aud|claims are invalid/,
      ],
      [
        'alg none',
        async () =>
          `${b64({ alg: 'none' })}.${b64({ iss: keyFapi.clientId, client_id: keyFapi.clientId, aud: ISSUER })}.`,
        /sign|alg|none/i,
      ],
      [
        'plain PKCE inside',
        () => requestObject(keyFapi, { code_challenge_method: 'plain' }),
        /code_challenge_method/,
      ],
    ];
    for (const [name, jwt, description] of requestObjectNegatives) {
      test(`fail/Request Object with ${name} → refused`, async () => {
        const r = await keyPar(keyFapi, { request: await jwt() });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(String(r.body.error), /^invalid_request(_object)?$/, JSON.stringify(r.body));
        assert.match(String(r.body.error_description), description, JSON.stringify(r.body));
      });
    }

    test("fail/a FAPI client's Request Object signed with ES384 → invalid_request_object; ok/for an opted-out client", async () => {
      const orgId = (
        await storage.db
          .selectFrom('applications')
          .select('org_id')
          .where('client_id', '=', keyFapi.clientId)
          .executeTakeFirstOrThrow()
      ).org_id;
      for (const profile of ['2.0', 'off']) {
        const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const es384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
        const [kid256, kid384] = [randomUUID(), randomUUID()];
        const keys = [
          { ...(await exportJWK(es256.publicKey)), kid: kid256, use: 'sig', alg: 'ES256' },
          { ...(await exportJWK(es384.publicKey)), kid: kid384, use: 'sig', alg: 'ES384' },
        ];
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId,
              name: `Two keys ${profile}`,
              roles: ['partner_reader'],
              authMethod: 'private_key_jwt',
              registrationType: 'dynamic',
              metadata: {
                grant_types: ['authorization_code'],
                redirect_uris: [CALLBACK],
                jwks: { keys },
                fapi_profile: profile,
              },
            },
            meta,
          ),
        );
        const signer: KeyClient = { clientId, agent: anonymous, privateKey: es256.privateKey, kid: kid256 };
        const objectSigner: KeyClient = { ...signer, privateKey: es384.privateKey, kid: kid384 };
        const r = await keyPar(signer, { request: await requestObject(objectSigner, {}, 'ES384') });
        if (profile === '2.0') assertError(r, 400, 'invalid_request_object', /PS256, ES256, EdDSA/);
        else assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });

    test("ok/the FAPI Request Object rules are the profile's: an opted-out client may omit nbf", async () => {
      const r = await keyPar(keyOptedOut, { request: await requestObject(keyOptedOut, { nbf: undefined }) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });

    test("fail/a FAPI client's token request without holder-of-key (no certificate, no DPoP) → invalid_grant, nothing looked up", async () => {
      const { verifier } = await pkce();
      const form = async (client: KeyClient) => ({
        grant_type: 'authorization_code',
        code: 'an-authorization-code',
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        client_id: client.clientId,
        client_assertion_type: JWT_BEARER,
        client_assertion: await clientAssertion(client),
      });
      const refused = await send('POST', '/token', anonymous, await form(keyFapi));
      assertError(refused, 400, 'invalid_grant', /FAPI 2\.0 client must prove possession/);
      // Client credentials too. (No refresh tokens are issued here yet; the wrapper covers that grant as well.)
      const credentials = await send('POST', '/token', anonymous, {
        ...(await form(keyFapi)),
        grant_type: 'client_credentials',
      });
      assertError(credentials, 400, 'invalid_grant', /FAPI 2\.0 client must prove possession/);
      // An opted-out client reaches the code lookup (and fails there: no such code).
      const optedOut = await send('POST', '/token', anonymous, await form(keyOptedOut));
      assert.equal(optedOut.status, 400, JSON.stringify(optedOut.body));
      assert.doesNotMatch(String(optedOut.body.error_description), /FAPI/);
    });

    test("ok/the platform profile is the code flow's: a client credentials client is held to it only when its metadata asks", async () => {
      const orgId = (
        await storage.db
          .selectFrom('applications')
          .select('org_id')
          .where('client_id', '=', keyFapi.clientId)
          .executeTakeFirstOrThrow()
      ).org_id;
      const descriptions: string[] = [];
      for (const metadata of [{}, { fapi_profile: '2.0' }]) {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const kid = randomUUID();
        const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'ES256' };
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId,
              name: `Credentials ${descriptions.length}`,
              roles: ['partner_reader'],
              authMethod: 'private_key_jwt',
              metadata: { jwks: { keys: [jwk] }, ...metadata },
            },
            meta,
          ),
        );
        const client: KeyClient = { clientId, agent: anonymous, privateKey, kid };
        const r = await send('POST', '/token', anonymous, {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: JWT_BEARER,
          client_assertion: await clientAssertion(client),
        });
        assert.equal(r.body.error, 'invalid_grant', JSON.stringify(r.body));
        descriptions.push(String(r.body.error_description));
      }
      // Not a FAPI client: RFC 8705 §3's missing certificate; held to the profile: the FAPI refusal.
      assert.doesNotMatch(descriptions[0] ?? '', /FAPI/);
      assert.match(descriptions[1] ?? '', /FAPI 2\.0 client must prove possession/);
    });

    test('ok/a DPoP proof is a proof of possession: the FAPI check lets the request on to the grant', async () => {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const proof = await new SignJWT({ htm: 'POST', htu: `${baseUrl}/token`, jti: randomUUID(), iat: now() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
      const r = await send(
        'POST',
        '/token',
        anonymous,
        {
          grant_type: 'authorization_code',
          code: 'an-authorization-code',
          redirect_uri: CALLBACK,
          code_verifier: oauth.generateRandomCodeVerifier(),
          client_id: keyFapi.clientId,
          client_assertion_type: JWT_BEARER,
          client_assertion: await clientAssertion(keyFapi),
        },
        { dpop: proof },
      );
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.doesNotMatch(String(r.body.error_description), /FAPI/);
    });

    test('ok/authorization codes live at most 60 s (FAPI 2.0 SP)', () => {
      const model = authorizationServer.provider.AuthorizationCode as unknown as { expiresIn: () => number };
      const ttl = model.expiresIn();
      assert.ok(ttl > 0 && ttl <= 60, String(ttl));
    });

    test('ok/a FAPI client over mTLS passes the holder-of-key check (client credentials, certificate-bound token)', async () => {
      const r = await send('POST', '/token', mtlsFapi.agent, {
        grant_type: 'client_credentials',
        client_id: mtlsFapi.clientId,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.token_type, 'Bearer');
      const [, payload] = String(r.body.access_token).split('.');
      const claims = JSON.parse(Buffer.from(String(payload), 'base64url').toString()) as {
        cnf?: Record<string, string>;
      };
      assert.equal(typeof claims.cnf?.['x5t#S256'], 'string');
    });

    // The negatives below need an authorization code: the end user signs in and consents through the real
    // interaction pages (obtainAuthorizationCode drives them over HTTP).
    async function codeFor(client: Client) {
      const { verifier, challenge } = await pkce();
      const pushed = await par(client, await parParams({ code_challenge: challenge }));
      assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
      const response = await obtainAuthorizationCode({
        baseUrl,
        clientId: client.clientId,
        requestUri: String(pushed.body.request_uri),
        dispatcher: anonymous,
        ...USER,
      });
      return { verifier, params: response.params };
    }
    const redeem = (client: Client, code: string, verifier: string, headers: Record<string, string> = {}) =>
      send(
        'POST',
        '/token',
        client.agent,
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
          client_id: client.clientId,
        },
        headers,
      );

    test('ok/the authorization response carries iss = the issuer (RFC 9207 §2)', async () => {
      const { params } = await codeFor(mtlsFapi);
      assert.equal(params.get('iss'), ISSUER);
      assert.ok(params.get('code'));
    });

    test('fail/the request_uri of a completed authorization used again → invalid_request_uri (RFC 9126 §4)', async () => {
      const { verifier, challenge } = await pkce();
      const pushed = await par(mtlsFapi, await parParams({ code_challenge: challenge }));
      const requestUri = String(pushed.body.request_uri);
      await obtainAuthorizationCode({
        baseUrl,
        clientId: mtlsFapi.clientId,
        requestUri,
        dispatcher: anonymous,
        ...USER,
      });
      const again = await authorize(mtlsFapi, { request_uri: requestUri });
      assert.ok(verifier);
      assertError(again, 400, 'invalid_request_uri');
    });

    test('fail/a wrong code_verifier → invalid_grant (RFC 7636 §4.6)', async () => {
      const { params } = await codeFor(mtlsFapi);
      const r = await redeem(mtlsFapi, String(params.get('code')), oauth.generateRandomCodeVerifier());
      assertError(r, 400, 'invalid_grant');
    });

    test('fail/an authorization code used twice → invalid_grant (RFC 6749 §4.1.2, FAPI 2.0 SP: one-time codes)', async () => {
      const { verifier, params } = await codeFor(mtlsFapi);
      const code = String(params.get('code'));
      const first = await redeem(mtlsFapi, code, verifier);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await redeem(mtlsFapi, code, verifier);
      assertError(again, 400, 'invalid_grant');
    });

    test('fail/a DPoP proof whose key differs from the pushed dpop_jkt → invalid_grant (RFC 9449 §10)', async () => {
      const { verifier, params } = await codeFor(mtlsFapi);
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const proof = await new SignJWT({ htm: 'POST', htu: `${baseUrl}/token`, jti: randomUUID(), iat: now() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(other.publicKey) })
        .sign(other.privateKey);
      const r = await redeem(mtlsFapi, String(params.get('code')), verifier, { dpop: proof });
      assert.equal(r.status, 400, JSON.stringify(r.body));
    });
  });
}

describe('refresh token rotation (FAPI 2.0 SP: not rotated except in extraordinary circumstances)', () => {
  const refreshToken = (percentagePassed: number, senderConstrained: boolean) => ({
    totalLifetime: () => 86_400,
    isSenderConstrained: () => senderConstrained,
    ttlPercentagePassed: () => percentagePassed,
  });
  const ctx = (client: Record<string, unknown>, token: ReturnType<typeof refreshToken>) =>
    ({ oidc: { entities: { Client: client, RefreshToken: token } } }) as never;

  test("ok/a FAPI client's refresh token is never rotated, even near its end", () => {
    assert.equal(
      rotateRefreshToken(
        ctx({ fapi_profile: '2.0', clientAuthMethod: 'private_key_jwt' }, refreshToken(99, true)),
      ),
      false,
    );
  });

  test('ok/other clients: rotated past 70% of the lifetime; a public client on every use, DPoP-bound or not', () => {
    const other = { fapi_profile: 'off', clientAuthMethod: 'tls_client_auth' };
    assert.equal(rotateRefreshToken(ctx(other, refreshToken(80, true))), true);
    assert.equal(rotateRefreshToken(ctx(other, refreshToken(10, true))), false);
    assert.equal(rotateRefreshToken(ctx({ clientAuthMethod: 'none' }, refreshToken(10, false))), true);
    // RFC 9700 §4.14.2: a public client's DPoP-bound refresh token is rotated as well.
    assert.equal(rotateRefreshToken(ctx({ clientAuthMethod: 'none' }, refreshToken(10, true))), true);
  });
});
