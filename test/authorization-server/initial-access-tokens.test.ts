import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { verifyAuditChain } from '../../src/audit/index.ts';
import {
  authenticateInitialAccessToken,
  claimInitialAccessToken,
} from '../../src/authorization-server/dynamic-registration/check-initial-access-token.ts';
import {
  createAuthorizationServer,
  issueInitialAccessToken,
  revokeInitialAccessToken,
} from '../../src/authorization-server/index.ts';
import {
  createApplication,
  createOrganisation,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import { type CertificateAuthority, decryptPrivateKey } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const STATEMENT_ISSUER = `${ISSUER}/directory`;
const CALLBACK = 'https://app.acme.example/cb';
const DAY_MS = 86_400_000;

interface Credential {
  clientId: string;
  certPem: string;
  keyPem: string;
  subject: string;
}

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

type Registered = Record<string, unknown> & { client_id: string; registration_access_token: string };

const silent = pino({ level: 'silent' });

// RFC 7591 §3: "the authorization server MAY be configured to require an initial access token"; here, where an
// operator allows it, an initial access token issued by an operator stands in for the directory's statement.
for (const target of targets) {
  describe(`initial access tokens at the registration endpoint (RFC 7591 §3): ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    // The production address policy; DNS from a table: one public name, one pointing inside the network.
    const partnerFetcher = testPartnerFetcher({
      dns: { 'keys.acme.example': ['93.184.216.34'], 'internal.acme.example': ['93.184.216.34', '10.1.2.3'] },
    });
    let ca: CertificateAuthority;
    const servers: Server[] = [];
    const agents: Agent[] = [];
    let enabledUrl: string;
    let disabledUrl: string;
    let anonymous: Agent;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = { actor: 'operator:test', now };
    let statementKey: { kid: string; alg: string; privateKey: KeyObject };
    let acme: string;
    let beta: string;
    let software: Credential;
    let otherAcmeApp: Credential;
    let betaApp: Credential;

    async function issueCredential(orgId: string, name: string, roles: string[]): Promise<Credential> {
      const clientId = await storage.transaction((tx) =>
        createApplication(tx, { orgId, name, roles, authMethod: 'tls_client_auth' }, meta),
      );
      const { csrPem, keyPem } = await csrWithKey();
      const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
      return { clientId, certPem: cert.certificate_pem, keyPem, subject: cert.subject };
    }

    async function listen(allowInitialAccessTokens: boolean): Promise<string> {
      const server = createServer({
        ...(await serverTlsFrom(ca)),
        requestCert: true,
        rejectUnauthorized: false,
        ca: ca.chainPem,
        minVersion: 'TLSv1.2',
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => now,
        logger: silent,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: 'https://api.accredit.test',
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher: partnerFetcher,
        registration: { softwareStatementMaxAgeSeconds: 120, allowInitialAccessTokens },
      });
      server.on('request', as.handle);
      return baseUrl;
    }

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      const accessKey = await createSigningKey('access_token', 'ES256', KEK, now);
      const ssaKey = await createSigningKey('software_statement', 'ES256', KEK, now);
      await storage.db.insertInto('signing_keys').values([accessKey, ssaKey]).execute();
      statementKey = {
        kid: ssaKey.kid,
        alg: ssaKey.alg,
        privateKey: decryptPrivateKey(ssaKey.private_key_pem, KEK),
      };
      acme = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
      beta = await storage.transaction((tx) =>
        createOrganisation(tx, { name: 'Beta Pay', roles: ['partner_reader'] }, meta),
      );
      software = await issueCredential(acme, 'Payments', ['partner_reader', 'partner_writer']);
      otherAcmeApp = await issueCredential(acme, 'Reporting', ['partner_reader']);
      betaApp = await issueCredential(beta, 'Beta app', ['partner_reader']);
      enabledUrl = await listen(true);
      disabledUrl = await listen(false);
      anonymous = new Agent({ connect: { ca: ca.chainPem } });
      agents.push(anonymous);
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await partnerFetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    /** An initial access token as the admin API issues it; `at` backdates it (an expired one). */
    const issue = (
      input: { orgId?: string; roles?: string[]; maxUses?: number; expiresInSeconds?: number } = {},
      at = now,
    ) =>
      storage.transaction((tx) =>
        issueInitialAccessToken(
          tx,
          {
            orgId: input.orgId ?? acme,
            roles: input.roles ?? ['partner_reader', 'partner_writer'],
            maxUses: input.maxUses,
            expiresInSeconds: input.expiresInSeconds,
          },
          { actor: 'operator:test', now: at },
        ),
      );

    async function mint(claims: Record<string, unknown> = {}): Promise<{ jwt: string; jti: string }> {
      const iat = Math.floor(now.getTime() / 1000);
      const payload: Record<string, unknown> = {
        iss: STATEMENT_ISSUER,
        iat,
        exp: iat + 600,
        jti: randomUUID(),
        software_id: software.clientId,
        org_id: acme,
        roles: ['partner_reader', 'partner_writer'],
        scope: 'accounts:read accounts:write payments:submit',
        client_name: 'Payments',
        token_endpoint_auth_method: 'tls_client_auth',
        grant_types: ['client_credentials'],
        tls_client_auth_subject_dn: software.subject,
        ...claims,
      };
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: statementKey.alg, kid: statementKey.kid, typ: 'JWT' })
        .sign(statementKey.privateKey);
      const jti = String(payload.jti);
      await storage.db
        .insertInto('software_statements')
        .values({
          jti,
          software_id: String(payload.software_id),
          org_id: String(payload.org_id),
          issued_at: new Date(iat * 1000).toISOString(),
          expires_at: new Date((iat + 600) * 1000).toISOString(),
          status: 'issued',
          used_at: null,
          used_by_client_id: null,
          created_at: now.toISOString(),
        })
        .execute();
      return { jwt, jti };
    }

    async function call(
      method: string,
      path: string,
      body?: unknown,
      options: { token?: string; authorization?: string; agent?: Agent; base?: string; raw?: string } = {},
    ): Promise<Reply> {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (options.raw !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      if (options.authorization !== undefined) headers.authorization = options.authorization;
      const response = await undiciFetch(`${options.base ?? enabledUrl}${path}`, {
        method,
        headers,
        body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        dispatcher: options.agent ?? anonymous,
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers as unknown as Headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    }

    /** The metadata a partner without a statement sends: its method, grant, and its certificate's subject. */
    const metadata = (changes: Record<string, unknown> = {}) => ({
      token_endpoint_auth_method: 'tls_client_auth',
      grant_types: ['client_credentials'],
      tls_client_auth_subject_dn: software.subject,
      client_name: 'Acme batch',
      ...changes,
    });
    const register = (token: string, body: Record<string, unknown> = metadata(), base?: string) =>
      call('POST', '/register', body, { token, base });
    async function registered(token: string, body: Record<string, unknown> = metadata()) {
      const r = await register(token, body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as Registered;
    }

    const usedCount = async (id: string) =>
      Number(
        (
          await storage.db
            .selectFrom('initial_access_tokens')
            .select('used_count')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).used_count,
      );
    async function counts() {
      const count = async (table: 'applications' | 'dynamic_registrations') =>
        Number(
          (
            await storage.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return {
        applications: await count('applications'),
        registrations: await count('dynamic_registrations'),
      };
    }

    function mtls(credential: Credential): Agent {
      const agent = new Agent({
        connect: { ca: ca.chainPem, cert: credential.certPem, key: credential.keyPem },
      });
      agents.push(agent);
      return agent;
    }
    const tokenRequest = (clientId: string, agent: Agent) =>
      call('POST', '/token', undefined, {
        agent,
        raw: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
      });

    function assertRefused(r: Reply, status: number, error: string, fields: string[] = []): void {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error, error, JSON.stringify(r.body));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const found = ((r.body.findings as Array<{ field: string }> | undefined) ?? []).map((f) => f.field);
      for (const field of fields)
        assert.ok(found.includes(field), `finding on ${field}: ${JSON.stringify(r.body)}`);
    }
    function assertInvalidToken(r: Reply, description: RegExp): void {
      assertRefused(r, 401, 'invalid_token');
      assert.match(String(r.body.error_description), description);
      // RFC 6750 §3: a presented token that does not work gets a challenge with the error.
      assert.match(String(r.headers.get('www-authenticate')), /^Bearer realm=".+", error="invalid_token"/);
    }

    test('ok/an initial access token alone registers a client of its organisation: 201, one use counted, audited', async () => {
      const iat = await issue();
      assert.match(iat.initial_access_token, /^acc_iat_[A-Za-z0-9_-]{43}$/);
      const stored = await storage.db
        .selectFrom('initial_access_tokens')
        .selectAll()
        .where('id', '=', iat.id)
        .executeTakeFirstOrThrow();
      assert.ok(!stored.token_hash.includes(iat.initial_access_token), 'only the hash is stored');
      const body = await registered(iat.initial_access_token);
      assert.match(body.client_id, /^cl_/);
      assert.equal(body.org_id, acme);
      assert.deepEqual(body.roles, ['partner_reader', 'partner_writer']);
      assert.equal(body.scope, 'accounts:read accounts:write payments:submit');
      assert.equal(body.client_name, 'Acme batch');
      assert.equal(body.token_endpoint_auth_method, 'tls_client_auth');
      assert.equal(body.tls_client_auth_subject_dn, software.subject);
      assert.equal(body.software_statement, undefined);
      assert.equal(body.software_id, undefined);
      assert.equal(typeof body.registration_access_token, 'string');
      assert.equal(await usedCount(iat.id), 1);
      const registration = await storage.db
        .selectFrom('dynamic_registrations')
        .selectAll()
        .where('client_id', '=', body.client_id)
        .executeTakeFirstOrThrow();
      assert.equal(registration.iat_id, iat.id);
      assert.equal(registration.software_id, null);
      assert.equal(registration.ssa_jti, null);
      assert.equal(registration.org_id, acme);
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'actor', 'details'])
        .where('target_id', '=', body.client_id)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ['application.create', 'dynamic_registration.register'],
      );
      assert.equal(audit[1]?.actor, `initial_access_token:${iat.id}`);
      assert.equal(JSON.parse(audit[1]?.details ?? '{}').iat_id, iat.id);
      assert.ok(!JSON.stringify(audit).includes(iat.initial_access_token), 'the token is never audited');
      assert.equal((await verifyAuditChain(storage.db)).ok, true);
      // The client authenticates with the organisation's certificate it named and gets a bound token.
      const token = await tokenRequest(body.client_id, mtls(software));
      assert.equal(token.status, 200, JSON.stringify(token.body));
      assert.equal(token.body.scope, 'accounts:read accounts:write payments:submit');
      assertRefused(await tokenRequest(body.client_id, mtls(otherAcmeApp)), 401, 'invalid_client');
    });

    test('ok/roles are the requested ∩ the token’s ∩ the organisation’s approved roles', async () => {
      const reader = await registered(
        (await issue()).initial_access_token,
        metadata({ roles: ['partner_reader'] }),
      );
      assert.deepEqual(reader.roles, ['partner_reader']);
      assert.equal(reader.scope, 'accounts:read');
      const narrowScope = await registered(
        (await issue()).initial_access_token,
        metadata({ scope: 'accounts:write' }),
      );
      assert.deepEqual(narrowScope.roles, ['partner_writer']);
      assert.equal(narrowScope.scope, 'accounts:write');
      // An organisation that lost a role after the token was issued: the role is gone from the client too.
      const gamma = await storage.transaction((tx) =>
        createOrganisation(
          tx,
          { name: `Gamma ${randomUUID()}`, roles: ['partner_reader', 'partner_writer'] },
          meta,
        ),
      );
      const gammaApp = await issueCredential(gamma, 'Gamma app', ['partner_reader']);
      const iat = await issue({ orgId: gamma });
      await storage.db
        .deleteFrom('organisation_roles')
        .where('org_id', '=', gamma)
        .where('role', '=', 'partner_writer')
        .execute();
      const body = await registered(
        iat.initial_access_token,
        metadata({ tls_client_auth_subject_dn: gammaApp.subject }),
      );
      assert.equal(body.org_id, gamma);
      assert.deepEqual(body.roles, ['partner_reader']);
    });

    test('ok/private_key_jwt with the request’s own keys; authorization_code with https redirect URIs', async () => {
      const key = {
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid: 'k1',
      };
      const body = await registered(
        (await issue()).initial_access_token,
        metadata({
          token_endpoint_auth_method: 'private_key_jwt',
          tls_client_auth_subject_dn: undefined,
          jwks: { keys: [key] },
          grant_types: ['authorization_code'],
          redirect_uris: [CALLBACK],
        }),
      );
      assert.deepEqual(body.jwks, { keys: [key] });
      assert.deepEqual(body.redirect_uris, [CALLBACK]);
      assert.deepEqual(body.response_types, ['code']);
    });

    test('ok/without a client_name the client is named by its client_id', async () => {
      const body = await registered(
        (await issue()).initial_access_token,
        metadata({ client_name: undefined }),
      );
      assert.equal(body.client_name, body.client_id);
    });

    test('ok/a multi-use token registers until its uses run out', async () => {
      const iat = await issue({ maxUses: 2 });
      await registered(iat.initial_access_token);
      await registered(iat.initial_access_token);
      assertInvalidToken(await register(iat.initial_access_token), /no registrations left/);
      assert.equal(await usedCount(iat.id), 2);
    });

    const tokenRefusals: Array<{ name: string; token: () => Promise<string>; description: RegExp }> = [
      {
        name: 'fail/expired',
        token: async () =>
          (await issue({ expiresInSeconds: 86_400 }, new Date(now.getTime() - 2 * DAY_MS)))
            .initial_access_token,
        description: /expired/,
      },
      {
        name: 'fail/revoked',
        token: async () => {
          const iat = await issue();
          await storage.transaction((tx) => revokeInitialAccessToken(tx, iat.id, meta));
          return iat.initial_access_token;
        },
        description: /revoked/,
      },
      {
        name: 'fail/exhausted (its one use spent)',
        token: async () => {
          const iat = await issue();
          await registered(iat.initial_access_token);
          return iat.initial_access_token;
        },
        description: /no registrations left/,
      },
      {
        name: 'fail/unknown token',
        token: async () => `acc_iat_${'A'.repeat(43)}`,
        description: /not valid/,
      },
      {
        name: 'fail/a registration access token is not an initial access token',
        token: async () => (await registered((await issue()).initial_access_token)).registration_access_token,
        description: /not valid/,
      },
      {
        name: 'fail/the organisation is suspended',
        token: async () => {
          const delta = await storage.transaction((tx) =>
            createOrganisation(tx, { name: `Delta ${randomUUID()}`, roles: ['partner_reader'] }, meta),
          );
          const iat = await issue({ orgId: delta, roles: ['partner_reader'] });
          await storage.transaction((tx) => setOrganisationStatus(tx, delta, 'suspended', meta));
          return iat.initial_access_token;
        },
        description: /organisation is not active/,
      },
    ];
    for (const c of tokenRefusals) {
      test(`${c.name}: 401 invalid_token with a Bearer challenge, nothing written`, async () => {
        const token = await c.token();
        const before = await counts();
        assertInvalidToken(await register(token), c.description);
        assert.deepEqual(await counts(), before);
      });
    }

    test('fail/a malformed Authorization header: 401 invalid_token before the body is read', async () => {
      for (const authorization of ['Bearer', 'Bearer a b', 'Basic dXNlcjpwYXNz']) {
        const r = await call('POST', '/register', undefined, { authorization, raw: 'not json' });
        assertRefused(r, 401, 'invalid_token');
      }
    });

    test('fail/feature disabled: the bearer token is ignored, a missing statement stays invalid_software_statement', async () => {
      const iat = await issue();
      const r = await register(iat.initial_access_token, metadata(), disabledUrl);
      assertRefused(r, 400, 'invalid_software_statement');
      assert.doesNotMatch(String(r.body.error_description), /initial access token/);
      assertRefused(
        await register(`acc_iat_${'A'.repeat(43)}`, metadata(), disabledUrl),
        400,
        'invalid_software_statement',
      );
      // With a statement the token is not even looked at: it keeps its use.
      const { jwt } = await mint();
      const ok = await register(iat.initial_access_token, { software_statement: jwt }, disabledUrl);
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.equal(await usedCount(iat.id), 0);
      const registration = await storage.db
        .selectFrom('dynamic_registrations')
        .select('iat_id')
        .where('client_id', '=', String(ok.body.client_id))
        .executeTakeFirstOrThrow();
      assert.equal(registration.iat_id, null);
    });

    test('fail/feature enabled, neither a statement nor a token: invalid_software_statement naming both ways', async () => {
      const r = await call('POST', '/register', metadata());
      assertRefused(r, 400, 'invalid_software_statement');
      assert.match(String(r.body.error_description), /initial access token/);
    });

    const policyRefusals: Array<{
      name: string;
      iat?: { roles?: string[]; orgId?: () => string };
      request: () => Record<string, unknown>;
      error?: string;
      fields: string[];
    }> = [
      {
        name: 'fail/roles widened beyond the token’s',
        iat: { roles: ['partner_reader'] },
        request: () => metadata({ roles: ['partner_reader', 'partner_writer'] }),
        fields: ['roles'],
      },
      {
        name: 'fail/a role the organisation is not approved for',
        request: () => metadata({ roles: ['partner_analyst'] }),
        fields: ['roles'],
      },
      {
        name: 'fail/scope widened beyond the token’s roles',
        iat: { roles: ['partner_reader'] },
        request: () => metadata({ scope: 'accounts:read payments:submit' }),
        fields: ['scope'],
      },
      {
        name: 'fail/another organisation’s certificate subject',
        request: () => metadata({ tls_client_auth_subject_dn: betaApp.subject }),
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/a subject that is no certificate’s',
        request: () => metadata({ tls_client_auth_subject_dn: 'CN=.*' }),
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/tls_client_auth without a subject',
        request: () => metadata({ tls_client_auth_subject_dn: undefined }),
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/an http redirect URI',
        request: () =>
          metadata({ grant_types: ['authorization_code'], redirect_uris: ['http://app.acme.example/cb'] }),
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris[0]'],
      },
      {
        name: 'fail/a redirect URI with a fragment, and a relative one',
        request: () =>
          metadata({ grant_types: ['authorization_code'], redirect_uris: [`${CALLBACK}#x`, '/cb'] }),
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris[0]', 'redirect_uris[1]'],
      },
      {
        name: 'fail/authorization_code (RFC 7591 §2 default) without redirect URIs',
        request: () => metadata({ grant_types: undefined }),
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris'],
      },
      {
        name: 'fail/no token_endpoint_auth_method (client_secret_basic is not offered)',
        request: () => metadata({ token_endpoint_auth_method: undefined }),
        fields: ['token_endpoint_auth_method'],
      },
      {
        name: 'fail/a shared-secret method',
        request: () => metadata({ token_endpoint_auth_method: 'client_secret_post' }),
        fields: ['token_endpoint_auth_method'],
      },
      {
        name: 'fail/org_id of another organisation',
        request: () => metadata({ org_id: beta }),
        fields: ['org_id'],
      },
      {
        name: 'fail/a software_id without a statement that vouches for it',
        request: () => metadata({ software_id: software.clientId }),
        fields: ['software_id'],
      },
      {
        name: 'fail/private_key_jwt without keys',
        request: () =>
          metadata({ token_endpoint_auth_method: 'private_key_jwt', tls_client_auth_subject_dn: undefined }),
        fields: ['jwks'],
      },
      {
        name: 'fail/a weak RSA key',
        request: () => ({
          ...metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
          }),
          jwks: {
            keys: [
              {
                ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }),
                kid: 'weak',
              },
            ],
          },
        }),
        fields: ['jwks.keys[0]'],
      },
      {
        name: 'fail/a jwks_uri that is not https',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'http://app.acme.example/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/a loopback jwks_uri',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://127.0.0.1:8443/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/the cloud metadata service as jwks_uri',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://169.254.169.254/latest/meta-data/',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/an RFC 1918 jwks_uri',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://10.0.0.1/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/an IPv4-mapped loopback jwks_uri',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://[::ffff:127.0.0.1]/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/a localhost jwks_uri',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://localhost/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/a jwks_uri whose name resolves to a private address',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'https://internal.acme.example/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        // No SSRF: the server would fetch this jwks_uri (RFC 7591 §5).
        name: 'fail/an http jwks_uri on loopback',
        request: () =>
          metadata({
            token_endpoint_auth_method: 'private_key_jwt',
            tls_client_auth_subject_dn: undefined,
            jwks_uri: 'http://127.0.0.1/jwks',
          }),
        fields: ['jwks_uri'],
      },
      {
        name: 'fail/client_name not a string',
        request: () => metadata({ client_name: 42 }),
        fields: ['client_name'],
      },
    ];
    for (const c of policyRefusals) {
      test(`${c.name}: 400 ${c.error ?? 'invalid_client_metadata'}, nothing written, the use is not spent`, async () => {
        const iat = await issue({ roles: c.iat?.roles });
        const before = await counts();
        const request = Object.fromEntries(Object.entries(c.request()).filter(([, v]) => v !== undefined));
        assertRefused(
          await register(iat.initial_access_token, request),
          400,
          c.error ?? 'invalid_client_metadata',
          c.fields,
        );
        assert.deepEqual(await counts(), before);
        assert.equal(await usedCount(iat.id), 0);
      });
    }

    test('ok/a jwks_uri on a name resolving to public addresses is registered as given', async () => {
      const iat = await issue();
      const body = await registered(
        iat.initial_access_token,
        metadata({
          token_endpoint_auth_method: 'private_key_jwt',
          tls_client_auth_subject_dn: undefined,
          jwks_uri: 'https://keys.acme.example/jwks',
        }),
      );
      assert.equal(body.jwks_uri, 'https://keys.acme.example/jwks');
    });

    test('ok/a statement with a token of its organisation: the statement path, roles also within the token’s, both recorded', async () => {
      const iat = await issue({ roles: ['partner_reader'] });
      const { jwt, jti } = await mint();
      const r = await register(iat.initial_access_token, { software_statement: jwt });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.software_statement, jwt);
      assert.deepEqual(r.body.roles, ['partner_reader']);
      assert.equal(r.body.scope, 'accounts:read');
      const registration = await storage.db
        .selectFrom('dynamic_registrations')
        .selectAll()
        .where('client_id', '=', String(r.body.client_id))
        .executeTakeFirstOrThrow();
      assert.equal(registration.ssa_jti, jti);
      assert.equal(registration.iat_id, iat.id);
      assert.equal(await usedCount(iat.id), 1);
      // The statement's redirect URIs and keys still bound the request: the token widens nothing.
      const other = await issue();
      const { jwt: second } = await mint();
      assertRefused(
        await register(other.initial_access_token, {
          software_statement: second,
          grant_types: ['authorization_code'],
          redirect_uris: [CALLBACK],
        }),
        400,
        'invalid_client_metadata',
        ['grant_types', 'redirect_uris[0]'],
      );
    });

    test('fail/a statement with a token of another organisation: unapproved_software_statement, neither used', async () => {
      const iat = await issue({ orgId: beta, roles: ['partner_reader'] });
      const { jwt, jti } = await mint();
      const r = await register(iat.initial_access_token, { software_statement: jwt });
      assertRefused(r, 400, 'unapproved_software_statement');
      assert.equal(await usedCount(iat.id), 0);
      const statement = await storage.db
        .selectFrom('software_statements')
        .select('status')
        .where('jti', '=', jti)
        .executeTakeFirstOrThrow();
      assert.equal(statement.status, 'issued');
    });

    test('ok/concurrency: three registrations at once with a single-use token → one 201, two 401', async () => {
      const iat = await issue();
      const before = await counts();
      const results = await Promise.all([1, 2, 3].map(() => register(iat.initial_access_token)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 401, 401], JSON.stringify(results.map((r) => r.body)));
      for (const r of results.filter((r) => r.status === 401)) assert.equal(r.body.error, 'invalid_token');
      assert.equal(await usedCount(iat.id), 1);
      const after = await counts();
      assert.equal(after.registrations, before.registrations + 1);
      assert.equal(after.applications, before.applications + 1);
    });

    test('fail/the claim in the registration transaction refuses a use already spent since authentication', async () => {
      const iat = await issue();
      const first = await authenticateInitialAccessToken(storage.db, iat.initial_access_token, now);
      const second = await authenticateInitialAccessToken(storage.db, iat.initial_access_token, now);
      await storage.transaction((tx) => claimInitialAccessToken(tx, first, now));
      await assert.rejects(
        storage.transaction((tx) => claimInitialAccessToken(tx, second, now)),
        (err: { code?: string; status?: number; message?: string }) => {
          assert.equal(err.code, 'invalid_token');
          assert.equal(err.status, 401);
          assert.match(String(err.message), /no registrations left/);
          return true;
        },
      );
      assert.equal(await usedCount(iat.id), 1);
    });

    /** The client's registration as an RFC 7592 §2.2 update body (server-provisioned values removed). */
    function updateBody(info: Record<string, unknown>, changes: Record<string, unknown> = {}) {
      const {
        registration_access_token: _t,
        registration_client_uri: _u,
        client_id_issued_at: _i,
        ...rest
      } = info;
      return { ...rest, ...changes };
    }

    test('fail/a revoked initial access token authorises no widening: narrowing and key rotation still work', async () => {
      // Before revocation a client may widen back within the token's roles.
      const live = await issue();
      const before = await registered(live.initial_access_token, metadata({ roles: ['partner_reader'] }));
      const widened = await call(
        'PUT',
        `/register/${before.client_id}`,
        updateBody(before, { roles: undefined, scope: undefined }),
        { token: before.registration_access_token },
      );
      assert.equal(widened.status, 200, JSON.stringify(widened.body));
      assert.deepEqual(widened.body.roles, ['partner_reader', 'partner_writer']);

      // Revoked: the client may still narrow, but never widen back, not even within the token's roles.
      const iat = await issue();
      const body = await registered(iat.initial_access_token);
      assert.deepEqual(body.roles, ['partner_reader', 'partner_writer']);
      const path = `/register/${body.client_id}`;
      await storage.transaction((tx) => revokeInitialAccessToken(tx, iat.id, meta));
      const narrowed = await call(
        'PUT',
        path,
        updateBody(body, { roles: ['partner_reader'], scope: undefined }),
        {
          token: body.registration_access_token,
        },
      );
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
      assert.deepEqual(narrowed.body.roles, ['partner_reader']);
      const token = String(narrowed.body.registration_access_token);
      const refusals: Array<{ changes: Record<string, unknown>; field: string }> = [
        { changes: { roles: undefined, scope: undefined }, field: 'roles' },
        { changes: { roles: ['partner_reader', 'partner_writer'], scope: undefined }, field: 'roles' },
        { changes: { roles: undefined, scope: 'accounts:read accounts:write' }, field: 'scope' },
        {
          changes: { grant_types: ['client_credentials', 'authorization_code'], redirect_uris: [CALLBACK] },
          field: 'grant_types',
        },
        {
          changes: { tls_client_auth_subject_dn: otherAcmeApp.subject },
          field: 'tls_client_auth_subject_dn',
        },
      ];
      for (const { changes, field } of refusals) {
        const r = await call('PUT', path, updateBody(narrowed.body, changes), { token });
        assertRefused(r, 400, 'invalid_client_metadata', [field]);
      }
      const same = await call('PUT', path, updateBody(narrowed.body), { token });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      assert.deepEqual(same.body.roles, ['partner_reader']);
      assert.equal(same.body.scope, 'accounts:read');

      // Key rotation: a private_key_jwt client replaces its keys after its token is revoked.
      const key = async (kid: string) => ({
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid,
      });
      const keyed = await issue();
      const client = await registered(
        keyed.initial_access_token,
        metadata({
          token_endpoint_auth_method: 'private_key_jwt',
          tls_client_auth_subject_dn: undefined,
          jwks: { keys: [await key('k1')] },
          grant_types: ['authorization_code'],
          redirect_uris: [CALLBACK],
        }),
      );
      await storage.transaction((tx) => revokeInitialAccessToken(tx, keyed.id, meta));
      const rotatedKeys = { keys: [await key('k2')] };
      const rotated = await call(
        'PUT',
        `/register/${client.client_id}`,
        updateBody(client, { jwks: rotatedKeys }),
        {
          token: client.registration_access_token,
        },
      );
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.deepEqual(rotated.body.jwks, rotatedKeys);
      const moreUris = await call(
        'PUT',
        `/register/${client.client_id}`,
        updateBody(rotated.body, { redirect_uris: [CALLBACK, 'https://app.acme.example/other'] }),
        { token: String(rotated.body.registration_access_token) },
      );
      assertRefused(moreUris, 400, 'invalid_redirect_uri', ['redirect_uris']);
    });

    test('fail/the subject of a suspended application’s certificate registers no client, and stops authenticating the client registered with it', async () => {
      const paused = await issueCredential(acme, `Paused ${randomUUID()}`, ['partner_reader']);
      await storage.transaction((tx) => setApplicationStatus(tx, paused.clientId, 'suspended', meta));
      const iat = await issue();
      const before = await counts();
      assertRefused(
        await register(iat.initial_access_token, metadata({ tls_client_auth_subject_dn: paused.subject })),
        400,
        'invalid_client_metadata',
        ['tls_client_auth_subject_dn'],
      );
      assert.deepEqual(await counts(), before);
      assert.equal(await usedCount(iat.id), 0);
      // Registered with an active application's certificate that is suspended afterwards: 401 at the token
      // endpoint for the client too, until the application is active again.
      const later = await issueCredential(acme, `Paused later ${randomUUID()}`, ['partner_reader']);
      const body = await registered(
        iat.initial_access_token,
        metadata({ tls_client_auth_subject_dn: later.subject }),
      );
      assert.equal((await tokenRequest(body.client_id, mtls(later))).status, 200);
      await storage.transaction((tx) => setApplicationStatus(tx, later.clientId, 'suspended', meta));
      assertRefused(await tokenRequest(body.client_id, mtls(later)), 401, 'invalid_client');
      await storage.transaction((tx) => setApplicationStatus(tx, later.clientId, 'active', meta));
      assert.equal((await tokenRequest(body.client_id, mtls(later))).status, 200);
    });

    test('ok/RFC 7592 for a client registered with a token: read, narrow, refuse widening or a statement, delete', async () => {
      const iat = await issue({ roles: ['partner_reader', 'partner_writer'] });
      const body = await registered(iat.initial_access_token);
      const path = `/register/${body.client_id}`;
      const read = await call('GET', path, undefined, { token: body.registration_access_token });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.org_id, acme);
      // Revoking the token stops new registrations, not the management of this one.
      await storage.transaction((tx) => revokeInitialAccessToken(tx, iat.id, meta));
      // RFC 7592 §3: the read rotated the registration access token.
      const narrowed = await call(
        'PUT',
        path,
        updateBody(body, { roles: ['partner_reader'], scope: undefined }),
        {
          token: String(read.body.registration_access_token),
        },
      );
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
      assert.deepEqual(narrowed.body.roles, ['partner_reader']);
      const rotated = String(narrowed.body.registration_access_token);
      const refusals: Array<{ changes: Record<string, unknown>; field: string }> = [
        { changes: { roles: ['partner_reader', 'partner_analyst'] }, field: 'roles' },
        { changes: { org_id: beta }, field: 'org_id' },
        { changes: { tls_client_auth_subject_dn: betaApp.subject }, field: 'tls_client_auth_subject_dn' },
        { changes: { software_statement: (await mint()).jwt }, field: 'software_statement' },
      ];
      for (const { changes, field } of refusals) {
        const r = await call('PUT', path, updateBody(narrowed.body, changes), { token: rotated });
        assertRefused(r, 400, 'invalid_client_metadata', [field]);
      }
      const deleted = await call('DELETE', path, undefined, { token: rotated });
      assert.equal(deleted.status, 204);
      assertRefused(await tokenRequest(body.client_id, mtls(software)), 401, 'invalid_client');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('target_id', '=', body.client_id)
        .where('action', '=', 'dynamic_registration.delete')
        .executeTakeFirstOrThrow();
      assert.equal(JSON.parse(audit.details).iat_id, iat.id);
    });
  });
}
