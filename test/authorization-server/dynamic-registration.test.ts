import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { sql } from 'kysely';
import { Agent, fetch as undiciFetch } from 'undici';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation, setApplicationStatus } from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  decryptPrivateKey,
  refreshExternalCa,
  registerExternalCa,
  x5tS256,
} from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { capturingLogger, csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CrlServer, ExternalCa } from '../support/external-ca.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const STATEMENT_ISSUER = `${ISSUER}/directory`;
const AUDIENCE = 'https://api.accredit.test';
const MAX_AGE = 120;
const CALLBACK = 'https://app.acme.example/cb';
const CALLBACK_2 = 'https://app.acme.example/cb2';

interface Credential {
  clientId: string;
  certPem: string;
  keyPem: string;
  subject: string;
  x5t: string;
}

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

for (const target of targets) {
  describe(`dynamic client registration (RFC 7591, RFC 7592): ${target.name}`, {
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
    // The wall clock at the start (TLS checks certificates against it); statements are minted relative to it.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = { actor: 'operator:test', now };
    let statementKey: { kid: string; alg: string; privateKey: KeyObject };
    let acme: string;
    let beta: string;
    let software: Credential;
    let otherAcmeApp: Credential;
    let betaApp: Credential;
    const log = capturingLogger();

    async function issueCredential(orgId: string, name: string, roles: string[]): Promise<Credential> {
      const clientId = await storage.transaction((tx) =>
        createApplication(tx, { orgId, name, roles, authMethod: 'tls_client_auth' }, meta),
      );
      const { csrPem, keyPem } = await csrWithKey();
      const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
      const x509 = new X509Certificate(cert.certificate_pem);
      assert.equal(cert.x5t_s256, x5tS256(x509.raw));
      return { clientId, certPem: cert.certificate_pem, keyPem, subject: cert.subject, x5t: cert.x5t_s256 };
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

      const tls = await serverTlsFrom(ca);
      server = createServer({
        ...tls,
        requestCert: true,
        rejectUnauthorized: false,
        ca: ca.chainPem,
        minVersion: 'TLSv1.2',
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => now,
        logger: log.logger,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher: partnerFetcher,
        registration: { softwareStatementMaxAgeSeconds: MAX_AGE },
      });
      server.on('request', as.handle);
      anonymous = new Agent({ connect: { ca: ca.chainPem } });
      agents.push(anonymous);
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await partnerFetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    /** A Software Statement Assertion as the directory issues it, recorded as issued unless `record` says otherwise. */
    async function mint(
      claims: Record<string, unknown> = {},
      options: {
        header?: Record<string, unknown>;
        key?: KeyObject;
        omit?: string[];
        record?: 'issued' | 'revoked' | 'none';
      } = {},
    ): Promise<{ jwt: string; jti: string }> {
      const iat = seconds(now);
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
        grant_types: ['client_credentials', 'authorization_code'],
        redirect_uris: [CALLBACK, CALLBACK_2],
        tls_client_auth_subject_dn: software.subject,
        ...claims,
      };
      const recorded = { software_id: String(payload.software_id), org_id: String(payload.org_id) };
      for (const name of options.omit ?? []) delete payload[name];
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: statementKey.alg, kid: statementKey.kid, typ: 'JWT', ...options.header })
        .sign(options.key ?? statementKey.privateKey);
      const jti = String(payload.jti);
      const record = options.record ?? 'issued';
      if (record !== 'none') {
        await storage.db
          .insertInto('software_statements')
          .values({
            jti,
            ...recorded,
            issued_at: new Date(iat * 1000).toISOString(),
            expires_at: new Date((iat + 600) * 1000).toISOString(),
            status: record,
            used_at: null,
            used_by_client_id: null,
            created_at: now.toISOString(),
          })
          .execute();
      }
      return { jwt, jti };
    }

    async function call(
      method: string,
      path: string,
      body?: unknown,
      options: { token?: string; agent?: Agent; raw?: string; contentType?: string } = {},
    ): Promise<Reply> {
      const headers: Record<string, string> = {};
      if (body !== undefined || options.raw !== undefined)
        headers['content-type'] = options.contentType ?? 'application/json';
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const response = await undiciFetch(`${baseUrl}${path}`, {
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

    const register = async (request: Record<string, unknown> = {}, claims: Record<string, unknown> = {}) =>
      call('POST', '/register', { software_statement: (await mint(claims)).jwt, ...request });

    async function registered(request: Record<string, unknown> = {}, claims: Record<string, unknown> = {}) {
      const r = await register(request, claims);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as Record<string, unknown> & { client_id: string; registration_access_token: string };
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
        contentType: 'application/x-www-form-urlencoded',
      });

    async function counts() {
      const count = async (table: 'applications' | 'dynamic_registrations' | 'audit_log') =>
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
        dynamic_registrations: await count('dynamic_registrations'),
        audit_log: await count('audit_log'),
      };
    }

    const statementStatus = async (jti: string) =>
      (
        await storage.db
          .selectFrom('software_statements')
          .select(['status', 'used_by_client_id'])
          .where('jti', '=', jti)
          .executeTakeFirstOrThrow()
      ).status;

    function assertRefused(r: Reply, status: number, error: string, fields: string[] = []): void {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error, error, JSON.stringify(r.body));
      assert.equal(typeof r.body.error_description, 'string');
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const found = ((r.body.findings as Array<{ field: string }> | undefined) ?? []).map((f) => f.field);
      for (const field of fields)
        assert.ok(found.includes(field), `finding on ${field}: ${JSON.stringify(r.body)}`);
    }

    test('ok/discovery advertises the registration endpoint on the mTLS listener (RFC 8414 §2, RFC 8705 §5)', async () => {
      const r = await call('GET', '/.well-known/openid-configuration');
      assert.equal(r.status, 200);
      assert.equal(r.body.registration_endpoint, `${baseUrl}/register`);
      assert.equal(
        (r.body.mtls_endpoint_aliases as Record<string, string>).registration_endpoint,
        `${baseUrl}/register`,
      );
    });

    test('ok/RFC 9449 §5.2: dpop_bound_access_tokens is registered; its tokens are DPoP-bound, not certificate-bound', async () => {
      const { jwt } = await mint();
      const r = await call('POST', '/register', { software_statement: jwt, dpop_bound_access_tokens: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.dpop_bound_access_tokens, true);
      assert.equal(r.body.tls_client_certificate_bound_access_tokens, false);
      const app = await storage.db
        .selectFrom('applications')
        .select('metadata')
        .where('client_id', '=', String(r.body.client_id))
        .executeTakeFirstOrThrow();
      const metadata = typeof app.metadata === 'string' ? JSON.parse(app.metadata) : app.metadata;
      assert.equal(metadata.dpop_bound_access_tokens, true);
    });

    test('ok/RFC 7591 §3.2.1: 201 with the registered metadata, the statement echoed, a hashed registration token, one use of the jti', async () => {
      const before = await counts();
      const { jwt, jti } = await mint();
      const r = await call('POST', '/register', { software_statement: jwt, use_mtls_endpoint_aliases: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const body = r.body;
      const clientId = String(body.client_id);
      assert.match(clientId, /^cl_[A-Za-z0-9_-]{22}$/);
      assert.notEqual(clientId, software.clientId);
      assert.equal(body.client_id_issued_at, seconds(now));
      assert.equal(body.registration_client_uri, `${baseUrl}/register/${clientId}`);
      const token = String(body.registration_access_token);
      assert.ok(Buffer.from(token, 'base64url').length >= 32, 'at least 256 bits');
      assert.equal(body.software_statement, jwt);
      assert.equal(body.software_id, software.clientId);
      assert.equal(body.org_id, acme);
      assert.deepEqual(body.roles, ['partner_reader', 'partner_writer']);
      assert.equal(body.scope, 'accounts:read accounts:write payments:submit');
      assert.equal(body.token_endpoint_auth_method, 'tls_client_auth');
      assert.equal(body.tls_client_auth_subject_dn, software.subject);
      assert.equal(body.tls_client_certificate_bound_access_tokens, true);
      assert.deepEqual(body.grant_types, ['client_credentials', 'authorization_code']);
      assert.deepEqual(body.response_types, ['code']);
      assert.deepEqual(body.redirect_uris, [CALLBACK, CALLBACK_2]);
      assert.equal(
        body.client_name,
        `Payments (${clientId})`,
        'qualified: the software itself is named Payments',
      );
      assert.equal(
        body.use_mtls_endpoint_aliases,
        undefined,
        'metadata it does not understand is ignored (§2)',
      );

      const statement = await storage.db
        .selectFrom('software_statements')
        .selectAll()
        .where('jti', '=', jti)
        .executeTakeFirstOrThrow();
      assert.equal(statement.status, 'used');
      assert.equal(statement.used_by_client_id, clientId);
      assert.equal(statement.used_at, now.toISOString());
      const registration = await storage.db
        .selectFrom('dynamic_registrations')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      assert.equal(registration.org_id, acme);
      assert.equal(registration.software_id, software.clientId);
      assert.equal(registration.ssa_jti, jti);
      assert.equal(registration.status, 'active');
      assert.ok(!registration.registration_token_hash.includes(token), 'only the hash is stored');
      const app = await storage.db
        .selectFrom('applications')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      assert.equal(app.registration_type, 'dynamic');
      assert.equal(app.org_id, acme);
      assert.ok(!app.metadata.includes(token));
      const after = await counts();
      assert.equal(after.applications, before.applications + 1);
      assert.equal(after.dynamic_registrations, before.dynamic_registrations + 1);
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('target_id', '=', clientId)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ['application.create', 'dynamic_registration.register'],
      );
      assert.equal(audit[1]?.actor, `software:${software.clientId}`);
      assert.equal((await verifyAuditChain(storage.db)).ok, true);
    });

    test('ok/the request narrows the statement: fewer redirect URIs and grant types, a narrower scope drops a role', async () => {
      const body = await registered({ redirect_uris: [CALLBACK_2], scope: 'accounts:read' });
      assert.deepEqual(body.redirect_uris, [CALLBACK_2]);
      assert.deepEqual(body.roles, ['partner_reader']);
      assert.equal(body.scope, 'accounts:read');
      const writerOnly = await registered({ grant_types: ['client_credentials'], scope: 'accounts:write' });
      assert.deepEqual(writerOnly.grant_types, ['client_credentials']);
      assert.equal(writerOnly.redirect_uris, undefined);
      assert.deepEqual(writerOnly.roles, ['partner_writer']);
      assert.equal(writerOnly.scope, 'accounts:write', 'narrower than the role: payments:submit is left out');
      const roles = await registered({ roles: ['partner_reader'] });
      assert.deepEqual(roles.roles, ['partner_reader']);
      assert.equal(roles.scope, 'accounts:read');
    });

    test('ok/roles are the statement’s ∩ the organisation’s approved roles', async () => {
      // A statement for Beta's software naming a role Beta is not approved for: that role is dropped.
      const { jwt } = await mint({
        software_id: betaApp.clientId,
        org_id: beta,
        client_name: 'Beta app',
        tls_client_auth_subject_dn: betaApp.subject,
        grant_types: ['client_credentials'],
        redirect_uris: undefined,
      });
      const r = await call('POST', '/register', { software_statement: jwt });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.roles, ['partner_reader']);
      assert.equal(r.body.scope, 'accounts:read');
      assert.equal(r.body.org_id, beta);
    });

    test('ok/private_key_jwt with the statement’s keys', async () => {
      const key = {
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid: 'k1',
      };
      const body = await registered(
        {},
        {
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key] },
          tls_client_auth_subject_dn: undefined,
        },
      );
      assert.equal(body.token_endpoint_auth_method, 'private_key_jwt');
      assert.deepEqual(body.jwks, { keys: [key] });
      assert.equal(body.tls_client_auth_subject_dn, undefined);
    });

    test('ok/tls_client_auth with the software’s certificate: a certificate-bound token for the new client; another certificate of the organisation is refused', async () => {
      const body = await registered();
      const clientId = body.client_id;
      const r = await tokenRequest(clientId, mtls(software));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [, payload] = String(r.body.access_token).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(claims.client_id, clientId);
      assert.equal(claims.org_id, acme);
      assert.deepEqual((claims.cnf as Record<string, string>)['x5t#S256'], software.x5t);
      assert.equal(claims.scope, 'accounts:read accounts:write payments:submit');
      // Another active certificate of the same organisation has another subject: not this client's identity.
      const other = await tokenRequest(clientId, mtls(otherAcmeApp));
      assertRefused(other, 401, 'invalid_client');
      // The software itself still authenticates as itself.
      assert.equal((await tokenRequest(software.clientId, mtls(software))).status, 200);
    });

    test('fail/token endpoint: a dynamic client whose certificate was revoked, or another organisation’s certificate', async () => {
      const victim = await issueCredential(acme, `Short-lived ${randomUUID()}`, ['partner_reader']);
      const body = await registered(
        {},
        {
          software_id: victim.clientId,
          roles: ['partner_reader'],
          scope: 'accounts:read',
          tls_client_auth_subject_dn: victim.subject,
          client_name: 'Short-lived',
        },
      );
      assertRefused(await tokenRequest(body.client_id, mtls(betaApp)), 401, 'invalid_client');
      const serial = (
        await storage.db
          .selectFrom('certificates')
          .select('serial')
          .where('x5t_s256', '=', victim.x5t)
          .executeTakeFirstOrThrow()
      ).serial;
      await storage.transaction((tx) => ca.revoke(tx, serial, 'keyCompromise', meta));
      assertRefused(await tokenRequest(body.client_id, mtls(victim)), 401, 'invalid_client');
    });

    test('fail/token endpoint: suspending the software stops its certificate authenticating the clients registered with it', async () => {
      // Operator suspends software S: a dynamic client D registered with S's statement names S's certificate
      // subject, and S's certificate must stop authenticating D as it stops authenticating S.
      const s = await issueCredential(acme, `Suspended software ${randomUUID()}`, ['partner_reader']);
      const d = await registered(
        {},
        {
          software_id: s.clientId,
          roles: ['partner_reader'],
          scope: 'accounts:read',
          tls_client_auth_subject_dn: s.subject,
          client_name: 'Suspended software client',
        },
      );
      assert.equal((await tokenRequest(d.client_id, mtls(s))).status, 200);
      await storage.transaction((tx) => setApplicationStatus(tx, s.clientId, 'suspended', meta));
      assertRefused(await tokenRequest(d.client_id, mtls(s)), 401, 'invalid_client');
      assertRefused(await tokenRequest(s.clientId, mtls(s)), 401, 'invalid_client');
      // Its management is refused too: the statement's software is no longer approved.
      const update = await call('PUT', `/register/${d.client_id}`, updateBody(d), {
        token: d.registration_access_token,
      });
      assertRefused(update, 400, 'unapproved_software_statement');
      await storage.transaction((tx) => setApplicationStatus(tx, s.clientId, 'active', meta));
      assert.equal(await tokenRequest(d.client_id, mtls(s)).then((r) => r.status), 200);
    });

    test('ok/fapi_profile "2.0" is registered and echoed (docs/fapi.md); fail/"off" or an unknown profile → invalid_client_metadata, nothing registered', async () => {
      const body = await registered({ fapi_profile: '2.0' });
      assert.equal(body.fapi_profile, '2.0');
      for (const value of ['off', '1.0', 2]) {
        const { jwt, jti } = await mint();
        const before = await counts();
        const r = await call('POST', '/register', { software_statement: jwt, fapi_profile: value });
        assertRefused(r, 400, 'invalid_client_metadata', ['fapi_profile']);
        assert.deepEqual(await counts(), before);
        assert.equal(await statementStatus(jti), 'issued');
      }
    });

    test("ok/the software statement's fapi_profile stands for the client; a request may make it stricter, never exempt itself", async () => {
      const exempt = await registered({}, { fapi_profile: 'off' });
      assert.equal(exempt.fapi_profile, 'off');
      const echoed = await registered({ fapi_profile: 'off' }, { fapi_profile: 'off' });
      assert.equal(echoed.fapi_profile, 'off');
      const stricter = await registered({ fapi_profile: '2.0' }, { fapi_profile: 'off' });
      assert.equal(stricter.fapi_profile, '2.0');
      const held = await registered({}, { fapi_profile: '2.0' });
      assert.equal(held.fapi_profile, '2.0');
      const { jwt } = await mint({ fapi_profile: '2.0' });
      const r = await call('POST', '/register', { software_statement: jwt, fapi_profile: 'off' });
      assertRefused(r, 400, 'invalid_client_metadata', ['fapi_profile']);
      const { jwt: malformed } = await mint({ fapi_profile: '1.0' });
      const bad = await call('POST', '/register', { software_statement: malformed });
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.match(String(bad.body.error_description), /fapi_profile/);
    });

    test('fail/registration and update: the subject of a suspended application’s certificate is no client’s identity', async () => {
      const paused = await issueCredential(acme, `Paused cert ${randomUUID()}`, ['partner_reader']);
      await storage.transaction((tx) => setApplicationStatus(tx, paused.clientId, 'suspended', meta));
      // The statement names no subject: the request names that of another application of the organisation.
      const { jwt, jti } = await mint({ tls_client_auth_subject_dn: undefined });
      const before = await counts();
      const r = await call('POST', '/register', {
        software_statement: jwt,
        tls_client_auth_subject_dn: paused.subject,
      });
      assertRefused(r, 400, 'invalid_client_metadata', ['tls_client_auth_subject_dn']);
      assert.deepEqual(await counts(), before);
      assert.equal(await statementStatus(jti), 'issued');
      // A client registered with an application's certificate that is suspended afterwards cannot be updated
      // while it names that certificate.
      const later = await issueCredential(acme, `Paused later ${randomUUID()}`, ['partner_reader']);
      const body = await registered(
        { tls_client_auth_subject_dn: later.subject },
        { tls_client_auth_subject_dn: undefined },
      );
      assert.equal(body.tls_client_auth_subject_dn, later.subject);
      await storage.transaction((tx) => setApplicationStatus(tx, later.clientId, 'suspended', meta));
      assertRefused(await tokenRequest(body.client_id, mtls(later)), 401, 'invalid_client');
      const update = await call('PUT', `/register/${body.client_id}`, updateBody(body), {
        token: body.registration_access_token,
      });
      assertRefused(update, 400, 'invalid_client_metadata', ['tls_client_auth_subject_dn']);
    });

    test('ok/bring your own CA: a client naming its organisation’s CA and a SAN; fail/another organisation’s CA', async () => {
      const crls = await CrlServer.start();
      const crlFetcher = testPartnerFetcher({ allowLoopback: true, allowPlainHttp: true });
      try {
        const bankCa = await ExternalCa.create(`CN=Acme Issuing ${randomUUID()},O=Acme Bank`, {
          crlUrl: crls.url,
        });
        const betaCa = await ExternalCa.create(`CN=Beta Issuing ${randomUUID()},O=Beta Pay`, {
          crlUrl: crls.url,
        });
        const [acmeCa, betaCaView] = await Promise.all(
          [
            [acme, bankCa],
            [beta, betaCa],
          ].map(([orgId, authority]) =>
            storage.transaction((tx) =>
              registerExternalCa(
                tx,
                { orgId: orgId as string, certificatePem: (authority as ExternalCa).certPem },
                meta,
              ),
            ),
          ),
        );
        crls.serve(await bankCa.crl([]));
        await refreshExternalCa(storage, crlFetcher, (acmeCa as { id: string }).id, new Date());
        const body = await registered(
          { tls_client_auth_ca_id: acmeCa?.id, tls_client_auth_san_dns: 'API.acme.example' },
          { tls_client_auth_subject_dn: undefined },
        );
        assert.equal(body.tls_client_auth_san_dns, 'api.acme.example');
        assert.equal(body.tls_client_auth_ca_id, acmeCa?.id);
        const leaf = await bankCa.issue({ subject: 'CN=whatever,O=Acme Bank', dns: ['api.acme.example'] });
        const agent = new Agent({ connect: { ca: ca.chainPem, cert: leaf.certPem, key: leaf.keyPem } });
        agents.push(agent);
        assert.equal((await tokenRequest(body.client_id, agent)).status, 200);
        // The statement is Acme's: a CA Beta registered is not Acme's to name.
        const r = await register(
          { tls_client_auth_ca_id: betaCaView?.id, tls_client_auth_san_dns: 'api.acme.example' },
          { tls_client_auth_subject_dn: undefined },
        );
        assert.equal(r.status, 400, JSON.stringify(r.body));
        // Two subject values at once.
        const two = await register(
          {
            tls_client_auth_ca_id: acmeCa?.id,
            tls_client_auth_san_dns: 'api.acme.example',
            tls_client_auth_san_uri: 'https://acme.example/app',
          },
          { tls_client_auth_subject_dn: undefined },
        );
        assertRefused(two, 400, 'invalid_client_metadata', ['tls_client_auth_subject_dn']);
      } finally {
        await crlFetcher.close();
        await crls.close();
      }
    });

    test('fail/jwks that is not a JWK Set (null, a string, an array, a number): invalid_client_metadata, not a 500', async () => {
      const key = {
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid: 'k1',
      };
      const claims = {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [key] },
        tls_client_auth_subject_dn: undefined,
      };
      for (const jwks of [null, 'keys', [key], 42, { keys: null }]) {
        const { jwt, jti } = await mint(claims);
        const before = await counts();
        const r = await call('POST', '/register', { software_statement: jwt, jwks });
        assertRefused(r, 400, 'invalid_client_metadata', ['jwks']);
        assert.deepEqual(await counts(), before);
        assert.equal(await statementStatus(jti), 'issued');
      }
      const body = await registered({}, claims);
      const update = await call('PUT', `/register/${body.client_id}`, updateBody(body, { jwks: null }), {
        token: body.registration_access_token,
      });
      assertRefused(update, 400, 'invalid_client_metadata', ['jwks']);
    });

    test('fail/a JWK member nested 20,000 levels, registering or updating: 400 invalid_client_metadata, not a 500', async () => {
      const key = {
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid: 'k1',
      };
      const claims = {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [key] },
        tls_client_auth_subject_dn: undefined,
      };
      const DEEP = '"__deep__"';
      // The body as a client would send it, the "__deep__" member replaced by `depth` nested arrays.
      const nestedBody = (body: Record<string, unknown>, depth: number) =>
        JSON.stringify(body).replace(DEEP, `${'['.repeat(depth)}"MIIB"${']'.repeat(depth)}`);
      const deepJwks = { keys: [{ ...key, x5c: '__deep__' }] };
      for (const depth of [20_000, 65]) {
        const { jwt, jti } = await mint(claims);
        const before = await counts();
        const r = await call('POST', '/register', undefined, {
          raw: nestedBody({ software_statement: jwt, jwks: deepJwks }, depth),
        });
        assertRefused(r, 400, 'invalid_client_metadata');
        assert.match(String(r.body.error_description), /deeper than 64 levels/);
        assert.deepEqual(await counts(), before);
        assert.equal(await statementStatus(jti), 'issued', 'the statement stays unused');
      }
      const body = await registered({}, claims);
      const update = await call('PUT', `/register/${body.client_id}`, undefined, {
        raw: nestedBody({ ...updateBody(body), jwks: deepJwks }, 20_000),
        token: body.registration_access_token,
      });
      assertRefused(update, 400, 'invalid_client_metadata');
      // RFC 7591 §2: metadata the server does not understand is ignored; nested below the bound, it is read.
      const { jwt } = await mint(claims);
      const shallow = await call('POST', '/register', undefined, {
        raw: nestedBody({ software_statement: jwt, x_extension: '__deep__' }, 50),
      });
      assert.equal(shallow.status, 201, JSON.stringify(shallow.body));
    });

    test('fail/an update cannot widen back beyond the software’s current roles (statement ∩ software ∩ organisation)', async () => {
      const s = await issueCredential(acme, `Narrowed software ${randomUUID()}`, [
        'partner_reader',
        'partner_writer',
      ]);
      const claims = {
        software_id: s.clientId,
        tls_client_auth_subject_dn: s.subject,
        client_name: 'Narrowed software client',
      };
      const body = await registered({ scope: 'accounts:read' }, claims);
      assert.deepEqual(body.roles, ['partner_reader']);
      const path = `/register/${body.client_id}`;
      // While the software still holds both roles, widening back within the statement is allowed.
      const widened = await call('PUT', path, updateBody(body, { roles: undefined, scope: undefined }), {
        token: body.registration_access_token,
      });
      assert.equal(widened.status, 200, JSON.stringify(widened.body));
      assert.deepEqual(widened.body.roles, ['partner_reader', 'partner_writer']);
      const narrowed = await call('PUT', path, updateBody(widened.body, { scope: 'accounts:read' }), {
        token: String(widened.body.registration_access_token),
      });
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
      let token = String(narrowed.body.registration_access_token);
      // The operator takes partner_writer from the software: the statement still names it, the software may not.
      await storage.db
        .deleteFrom('application_roles')
        .where('client_id', '=', s.clientId)
        .where('role', '=', 'partner_writer')
        .execute();
      for (const changes of [
        { roles: ['partner_reader', 'partner_writer'], scope: undefined },
        { scope: 'accounts:read accounts:write', roles: undefined },
      ]) {
        const r = await call('PUT', path, updateBody(narrowed.body, changes), { token });
        assertRefused(r, 400, 'invalid_client_metadata', [Object.keys(changes)[0]!]);
      }
      // Without a role or scope requested, the client gets what the software still holds, no more.
      const all = await call('PUT', path, updateBody(narrowed.body, { roles: undefined, scope: undefined }), {
        token,
      });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.deepEqual(all.body.roles, ['partner_reader']);
      assert.equal(all.body.scope, 'accounts:read');
      token = String(all.body.registration_access_token);
      // A new statement naming the role (issued before the change) registers without it too.
      const fresh = await registered({}, claims);
      assert.deepEqual(fresh.roles, ['partner_reader']);
      const tokenResponse = await tokenRequest(body.client_id, mtls(s));
      assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));
      assert.equal(tokenResponse.body.scope, 'accounts:read');
    });

    test('fail/two concurrent registrations picking the same client name: the second gets a qualified name, not a 500', {
      skip: target.name !== 'postgres' && 'SQLite has a single writer: registrations never interleave',
    }, async () => {
      const name = `Race ${randomUUID()}`;
      // Another registration inserts an application with the name and commits only once ours is blocked on it.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let inserted!: () => void;
      const insertedYet = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      const other = storage.transaction(async (tx) => {
        const id = await createApplication(
          tx,
          { orgId: acme, name, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          meta,
        );
        inserted();
        await gate;
        return id;
      });
      await insertedYet;
      const { jwt } = await mint({ client_name: name });
      const reply = call('POST', '/register', { software_statement: jwt });
      try {
        // Wait until our registration's insert waits on the other transaction's uncommitted row.
        const deadline = Date.now() + 10_000;
        for (;;) {
          const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query ILIKE 'insert into "applications"%'`.execute(storage.db);
          if (rows[0]!.n > 0) break;
          assert.ok(Date.now() < deadline, 'the registration never waited on the other application’s name');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        release();
      }
      await other;
      const r = await reply;
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.client_name, `${name} (${r.body.client_id})`);
    });

    const statementRefusals: Array<{
      name: string;
      statement: () => Promise<unknown>;
      error: string;
    }> = [
      {
        name: 'fail/no software statement',
        statement: async () => undefined,
        error: 'invalid_software_statement',
      },
      { name: 'fail/not a JWS', statement: async () => 'not-a-jwt', error: 'invalid_software_statement' },
      {
        name: 'fail/not a string',
        statement: async () => ({ jwt: true }),
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/bad signature (another key under the directory’s kid)',
        statement: async () =>
          (await mint({}, { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/tampered payload',
        statement: async () => {
          const [h, , s] = (await mint()).jwt.split('.');
          const forged = (await mint({ roles: ['partner_reader', 'partner_writer', 'partner_analyst'] })).jwt;
          return `${h}.${forged.split('.')[1]}.${s}`;
        },
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/unknown kid',
        statement: async () => (await mint({}, { header: { kid: 'someone-else' } })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/alg none (RFC 7591 §2.3: MUST be signed)',
        statement: async () => {
          const header = Buffer.from(
            JSON.stringify({ alg: 'none', typ: 'JWT', kid: statementKey.kid }),
          ).toString('base64url');
          const [, payload] = (await mint()).jwt.split('.');
          return `${header}.${payload}.`;
        },
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/HS256 with the public key as secret',
        statement: async () => {
          const { jwt } = await mint();
          const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
          return new SignJWT(payload)
            .setProtectedHeader({ alg: 'HS256', kid: statementKey.kid, typ: 'JWT' })
            .sign(new TextEncoder().encode('x'.repeat(32)));
        },
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/typ other than JWT',
        statement: async () => (await mint({}, { header: { typ: 'at+jwt' } })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/iss is not the directory',
        statement: async () => (await mint({ iss: ISSUER })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/stale iat (older than registration.softwareStatementMaxAgeSeconds)',
        statement: async () => (await mint({ iat: seconds(now) - MAX_AGE - 60 })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/iat in the future',
        statement: async () => (await mint({ iat: seconds(now) + 120 })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/expired',
        statement: async () => (await mint({ iat: seconds(now) - 60, exp: seconds(now) - 30 })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/a claim the directory always sets is missing (org_id)',
        statement: async () => (await mint({}, { omit: ['org_id'] })).jwt,
        error: 'invalid_software_statement',
      },
      {
        name: 'fail/unknown jti (no record of the statement)',
        statement: async () => (await mint({}, { record: 'none' })).jwt,
        error: 'unapproved_software_statement',
      },
      {
        name: 'fail/revoked statement',
        statement: async () => (await mint({}, { record: 'revoked' })).jwt,
        error: 'unapproved_software_statement',
      },
      {
        name: 'fail/the statement names another organisation than its software’s',
        statement: async () => (await mint({ org_id: beta })).jwt,
        error: 'unapproved_software_statement',
      },
    ];
    for (const c of statementRefusals) {
      test(`${c.name}: 400 ${c.error}, nothing written`, async () => {
        const statement = await c.statement();
        const before = await counts();
        const r = await call(
          'POST',
          '/register',
          statement === undefined ? {} : { software_statement: statement },
        );
        assertRefused(r, 400, c.error);
        assert.deepEqual(await counts(), before);
      });
    }

    /**
     * Another directory key beside the active one, as rotation leaves it: retired `retiredAgo` seconds ago,
     * and revoked as well when `revoked`. Returns what signs with it.
     */
    async function otherStatementKey(
      state: { retiredAgo?: number; revoked?: boolean; purpose?: 'software_statement' | 'access_token' } = {},
    ): Promise<{ key: KeyObject; header: { kid: string } }> {
      const row = await createSigningKey(state.purpose ?? 'software_statement', 'ES256', KEK, now);
      const at = (ago: number) => new Date(now.getTime() - ago * 1000).toISOString();
      await storage.db
        .insertInto('signing_keys')
        .values({
          ...row,
          status: state.revoked ? 'revoked' : state.retiredAgo === undefined ? 'active' : 'retired',
          retired_at: state.retiredAgo === undefined ? null : at(state.retiredAgo),
          revoked_at: state.revoked ? at(1) : null,
          revocation_reason: state.revoked ? 'keyCompromise' : null,
        })
        .execute();
      return { key: decryptPrivateKey(row.private_key_pem, KEK), header: { kid: row.kid } };
    }

    // A retired key still verifies what it signed within softwareStatementMaxAgeSeconds (+ skew) of its
    // retirement, as statements are only that young; a revoked one never does (statement-verification-keys.ts).
    test('ok/a statement signed by a key retired within softwareStatementMaxAgeSeconds still registers', async () => {
      const { jwt } = await mint({}, await otherStatementKey({ retiredAgo: 30 }));
      const r = await call('POST', '/register', { software_statement: jwt });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });

    const keyRefusals: Array<{ name: string; key: () => ReturnType<typeof otherStatementKey> }> = [
      {
        name: 'a key retired longer ago than softwareStatementMaxAgeSeconds',
        key: () => otherStatementKey({ retiredAgo: MAX_AGE + 60 }),
      },
      {
        name: 'a revoked key (retired a moment ago)',
        key: () => otherStatementKey({ retiredAgo: 5, revoked: true }),
      },
      { name: 'a revoked key never retired first', key: () => otherStatementKey({ revoked: true }) },
      {
        name: "the authorization server's own access-token key (another purpose)",
        key: () => otherStatementKey({ purpose: 'access_token', retiredAgo: 5 }),
      },
    ];
    for (const c of keyRefusals) {
      test(`fail/a statement signed by ${c.name}: 400 invalid_software_statement, nothing written`, async () => {
        const { jwt, jti } = await mint({}, await c.key());
        const before = await counts();
        const r = await call('POST', '/register', { software_statement: jwt });
        assertRefused(r, 400, 'invalid_software_statement');
        assert.match(String(r.body.error_description), /key the directory does not publish/);
        assert.deepEqual(await counts(), before);
        assert.equal(await statementStatus(jti), 'issued', 'the statement was not used up');
      });
    }

    test('fail/replayed jti: the second registration with one statement is invalid_software_statement', async () => {
      const { jwt, jti } = await mint();
      assert.equal((await call('POST', '/register', { software_statement: jwt })).status, 201);
      const before = await counts();
      assertRefused(
        await call('POST', '/register', { software_statement: jwt }),
        400,
        'invalid_software_statement',
      );
      assert.deepEqual(await counts(), before);
      assert.equal(await statementStatus(jti), 'used');
    });

    test('fail/concurrent uses of one statement: exactly one client', async () => {
      const { jwt } = await mint();
      const before = await counts();
      const replies = await Promise.all(
        Array.from({ length: 4 }, () => call('POST', '/register', { software_statement: jwt })),
      );
      assert.deepEqual(
        replies.map((r) => r.status).sort(),
        [201, 400, 400, 400],
        JSON.stringify(replies.map((r) => r.body)),
      );
      assert.equal((await counts()).applications, before.applications + 1);
    });

    test('fail/a suspended software or organisation: unapproved_software_statement', async () => {
      const paused = await issueCredential(acme, `Paused ${randomUUID()}`, ['partner_reader']);
      const { jwt } = await mint({
        software_id: paused.clientId,
        tls_client_auth_subject_dn: paused.subject,
      });
      await storage.transaction((tx) => setApplicationStatus(tx, paused.clientId, 'suspended', meta));
      assertRefused(
        await call('POST', '/register', { software_statement: jwt }),
        400,
        'unapproved_software_statement',
      );
    });

    const policyRefusals: Array<{
      name: string;
      request?: Record<string, unknown>;
      claims?: Record<string, unknown>;
      error: string;
      fields: string[];
    }> = [
      {
        name: 'fail/http redirect URI',
        claims: { redirect_uris: ['http://app.acme.example/cb'] },
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris[0]'],
      },
      {
        name: 'fail/redirect URI not in the statement',
        request: { redirect_uris: [CALLBACK, 'https://evil.example/cb'] },
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris[1]'],
      },
      {
        name: 'fail/redirect URI with a fragment',
        request: { redirect_uris: [`${CALLBACK}#x`] },
        error: 'invalid_redirect_uri',
        fields: ['redirect_uris[0]'],
      },
      {
        name: 'fail/widened roles',
        request: { roles: ['partner_reader', 'partner_analyst'] },
        error: 'invalid_client_metadata',
        fields: ['roles'],
      },
      {
        name: 'fail/widened scope',
        request: { scope: 'accounts:read reports:download' },
        error: 'invalid_client_metadata',
        fields: ['scope'],
      },
      {
        name: 'fail/a scope beyond the statement’s scope claim, though its role grants it',
        claims: { scope: 'accounts:read accounts:write' },
        request: { scope: 'payments:submit' },
        error: 'invalid_client_metadata',
        fields: ['scope'],
      },
      {
        name: 'fail/widened grant types',
        claims: { grant_types: ['client_credentials'], redirect_uris: undefined },
        request: { grant_types: ['client_credentials', 'authorization_code'], redirect_uris: [CALLBACK] },
        error: 'invalid_client_metadata',
        fields: ['grant_types'],
      },
      {
        name: 'fail/unsupported grant type',
        request: { grant_types: ['client_credentials', 'refresh_token'] },
        error: 'invalid_client_metadata',
        fields: ['grant_types'],
      },
      {
        name: 'fail/a shared-secret auth method',
        request: { token_endpoint_auth_method: 'client_secret_basic' },
        error: 'invalid_client_metadata',
        fields: ['token_endpoint_auth_method'],
      },
      {
        // Public clients are registered by an operator only (docs/dpop.md): never through DCR.
        name: 'fail/a public client (auth method none)',
        request: { token_endpoint_auth_method: 'none' },
        error: 'invalid_client_metadata',
        fields: ['token_endpoint_auth_method'],
      },
      {
        name: 'fail/another auth method than the statement’s',
        request: { token_endpoint_auth_method: 'self_signed_tls_client_auth' },
        error: 'invalid_client_metadata',
        fields: ['token_endpoint_auth_method'],
      },
      {
        name: 'fail/jwks_uri other than the statement’s',
        claims: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.acme.example/jwks' },
        request: { jwks_uri: 'https://evil.example/jwks' },
        error: 'invalid_client_metadata',
        fields: ['jwks_uri'],
      },
      {
        name: 'fail/a certificate subject from another organisation (in the request)',
        request: { tls_client_auth_subject_dn: '__BETA__' },
        error: 'invalid_client_metadata',
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/a certificate subject from another organisation (in the statement)',
        claims: { tls_client_auth_subject_dn: '__BETA__' },
        error: 'invalid_client_metadata',
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/a subject pattern instead of a certificate’s exact subject',
        claims: { tls_client_auth_subject_dn: 'CN=.*' },
        error: 'invalid_client_metadata',
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/org_id of another organisation',
        request: { org_id: '__BETA_ORG__' },
        error: 'invalid_client_metadata',
        fields: ['org_id'],
      },
      {
        name: 'fail/tokens not certificate-bound',
        request: { tls_client_certificate_bound_access_tokens: false },
        error: 'invalid_client_metadata',
        fields: ['tls_client_certificate_bound_access_tokens'],
      },
      {
        name: 'fail/dpop_bound_access_tokens that is not a boolean (RFC 9449 §5.2)',
        request: { dpop_bound_access_tokens: 'yes' },
        error: 'invalid_client_metadata',
        fields: ['dpop_bound_access_tokens'],
      },
    ];
    for (const c of policyRefusals) {
      test(`${c.name}: 400 ${c.error}, nothing written`, async () => {
        const swap = (v: Record<string, unknown> | undefined) =>
          JSON.parse(
            JSON.stringify(v ?? {})
              .replaceAll('__BETA__', betaApp.subject)
              .replaceAll('__BETA_ORG__', beta),
          ) as Record<string, unknown>;
        const claims = swap(c.claims);
        for (const [k, v] of Object.entries(c.claims ?? {})) if (v === undefined) claims[k] = undefined;
        const { jwt, jti } = await mint(claims);
        const before = await counts();
        const r = await call('POST', '/register', { software_statement: jwt, ...swap(c.request) });
        assertRefused(r, 400, c.error, c.fields);
        assert.deepEqual(await counts(), before);
        assert.equal(
          await statementStatus(jti),
          'issued',
          'a refused registration does not use the statement',
        );
      });
    }

    test('fail/weak RSA key in jwks: invalid_client_metadata on the key', async () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const jwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak' };
      const r = await register(
        {},
        {
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [jwk] },
          tls_client_auth_subject_dn: undefined,
        },
      );
      assertRefused(r, 400, 'invalid_client_metadata', ['jwks.keys[0]']);
      assert.match(JSON.stringify(r.body.findings), /2048/);
    });

    test('fail/private key material in jwks, and a key the statement does not carry', async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' };
      const privateJwk = { ...(await exportJWK(pair.privateKey)), kid: 'k1' } as JWK;
      const stranger = {
        ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
        kid: 'k2',
      };
      const r = await register(
        { jwks: { keys: [privateJwk, stranger] } },
        {
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk] },
          tls_client_auth_subject_dn: undefined,
        },
      );
      assertRefused(r, 400, 'invalid_client_metadata', ['jwks.keys[0].d', 'jwks.keys[1]']);
      assert.ok(!JSON.stringify(r.body).includes(String(privateJwk.d)), 'key material is never echoed');
    });

    test('fail/every finding is reported at once', async () => {
      const r = await register({
        redirect_uris: ['http://app.acme.example/cb'],
        scope: 'reports:download',
        org_id: beta,
        token_endpoint_auth_method: 'client_secret_post',
      });
      assertRefused(r, 400, 'invalid_client_metadata', [
        'redirect_uris[0]',
        'scope',
        'org_id',
        'token_endpoint_auth_method',
      ]);
      const findings = r.body.findings as Array<{
        field: string;
        code: string;
        reason: string;
        spec: string;
      }>;
      assert.ok(findings.every((f) => f.reason && f.spec && f.code));
      assert.match(String(r.body.error_description), /more finding/);
    });

    test('fail/the body is not a JSON object: invalid_request', async () => {
      assertRefused(
        await call('POST', '/register', undefined, {
          raw: 'software_statement=x',
          contentType: 'application/x-www-form-urlencoded',
        }),
        400,
        'invalid_request',
      );
      assertRefused(await call('POST', '/register', undefined, { raw: '[1]' }), 400, 'invalid_request');
      assertRefused(await call('POST', '/register', undefined, { raw: '{' }), 400, 'invalid_request');
      const r = await call('GET', '/register');
      assert.equal(r.status, 405);
      assert.equal(r.headers.get('allow'), 'POST');
    });

    test('ok/RFC 7592 §2.1, §3: a read returns the registration with a new registration access token; the old one ends', async () => {
      const body = await registered();
      const path = `/register/${body.client_id}`;
      const r = await call('GET', path, undefined, { token: body.registration_access_token });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const { registration_access_token: rotated, ...read } = r.body;
      const { registration_access_token: _token, ...expected } = body;
      assert.deepEqual(read, expected);
      // §3: REQUIRED in the response; only hashes are kept, so it is a new one.
      assert.equal(typeof rotated, 'string');
      assert.match(String(rotated), /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(rotated, body.registration_access_token);
      const stored = await storage.db
        .selectFrom('dynamic_registrations')
        .select('registration_token_hash')
        .where('client_id', '=', body.client_id)
        .executeTakeFirstOrThrow();
      assert.notEqual(stored.registration_token_hash, rotated);
      assertRefused(
        await call('GET', path, undefined, { token: body.registration_access_token }),
        401,
        'invalid_token',
      );
      assertRefused(
        await call('DELETE', path, undefined, { token: body.registration_access_token }),
        401,
        'invalid_token',
      );
      const again = await call('GET', path, undefined, { token: String(rotated) });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('target_id', '=', body.client_id)
        .where('action', '=', 'dynamic_registration.rotate_token')
        .execute();
      assert.equal(audit.length, 2);
      // Audited without the token.
      for (const entry of audit) {
        assert.doesNotMatch(JSON.stringify(entry), new RegExp(String(rotated)));
        assert.doesNotMatch(JSON.stringify(entry), new RegExp(String(again.body.registration_access_token)));
      }
    });

    test('fail/RFC 7592 §3: two concurrent reads with one token: one gets the new token, the other 401', async () => {
      const body = await registered();
      const path = `/register/${body.client_id}`;
      const replies = await Promise.all(
        Array.from({ length: 4 }, () =>
          call('GET', path, undefined, { token: body.registration_access_token }),
        ),
      );
      const ok = replies.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, JSON.stringify(replies.map((r) => r.status)));
      for (const r of replies.filter((r) => r.status !== 200)) assertRefused(r, 401, 'invalid_token');
      // The winner's token is the one that works now.
      const token = String(ok[0]!.body.registration_access_token);
      assert.equal((await call('GET', path, undefined, { token })).status, 200);
    });

    test('fail/RFC 7592 §2: no token, a wrong token, another client’s token, an unknown client: 401 invalid_token', async () => {
      const body = await registered();
      const path = `/register/${body.client_id}`;
      const absent = await call('GET', path);
      assertRefused(absent, 401, 'invalid_token');
      assert.equal(absent.headers.get('www-authenticate'), `Bearer realm="${ISSUER}"`);
      const wrong = await call('GET', path, undefined, { token: 'x'.repeat(43) });
      assertRefused(wrong, 401, 'invalid_token');
      assert.match(
        String(wrong.headers.get('www-authenticate')),
        /^Bearer realm=".+", error="invalid_token"/,
      );
      assertRefused(
        await call('GET', path, undefined, { token: `${body.registration_access_token}x` }),
        401,
        'invalid_token',
      );
      assertRefused(await call('DELETE', path, undefined, { token: 'x'.repeat(43) }), 401, 'invalid_token');
      assertRefused(await call('PUT', path, { client_id: body.client_id }), 401, 'invalid_token');
      assertRefused(
        await call('GET', '/register/cl_unknown', undefined, { token: 'x'.repeat(43) }),
        401,
        'invalid_token',
      );
      assert.equal((await call('POST', path, {}, { token: body.registration_access_token })).status, 405);
      assert.equal(
        (await call('GET', path, undefined, { token: body.registration_access_token })).status,
        200,
      );
    });

    test('fail/a registration access token put in the client configuration path never reaches the log', async () => {
      const body = await registered();
      const from = log.lines.length;
      const r = await call('GET', `/register/${body.registration_access_token}`, undefined, {
        token: body.registration_access_token,
      });
      assertRefused(r, 401, 'invalid_token');
      // ok/an ordinary client id is logged as it is.
      assertRefused(await call('GET', `/register/${body.client_id}`), 401, 'invalid_token');
      const lines = log.lines.slice(from);
      const paths = lines.map((l) => (JSON.parse(l) as { path?: string }).path);
      assert.deepEqual(paths.filter(Boolean), ['/register/[redacted]', `/register/${body.client_id}`]);
      assert.ok(!lines.some((l) => l.includes(body.registration_access_token)), 'no token in the log');
    });

    test('fail/RFC 7592 §2.1: a token presented for another client is revoked', async () => {
      const mine = await registered();
      const theirs = await registered();
      const r = await call('GET', `/register/${theirs.client_id}`, undefined, {
        token: mine.registration_access_token,
      });
      assertRefused(r, 401, 'invalid_token');
      const again = await call('GET', `/register/${mine.client_id}`, undefined, {
        token: mine.registration_access_token,
      });
      assertRefused(again, 401, 'invalid_token');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', mine.client_id)
        .execute();
      assert.ok(audit.some((a) => a.action === 'dynamic_registration.revoke_token'));
      assert.equal(
        (
          await call('GET', `/register/${theirs.client_id}`, undefined, {
            token: theirs.registration_access_token,
          })
        ).status,
        200,
      );
    });

    /** The client's current registration as an RFC 7592 §2.2 update body (server-provisioned values removed). */
    function updateBody(info: Record<string, unknown>, changes: Record<string, unknown> = {}) {
      const {
        registration_access_token: _t,
        registration_client_uri: _u,
        client_id_issued_at: _i,
        ...rest
      } = info;
      return { ...rest, ...changes };
    }

    test('ok/RFC 7592 §2.2: an update narrows the client and rotates the registration access token', async () => {
      const body = await registered();
      const path = `/register/${body.client_id}`;
      const r = await call(
        'PUT',
        path,
        updateBody(body, { scope: 'accounts:read', redirect_uris: [CALLBACK] }),
        {
          token: body.registration_access_token,
        },
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.scope, 'accounts:read');
      assert.deepEqual(r.body.roles, ['partner_reader']);
      assert.deepEqual(r.body.redirect_uris, [CALLBACK]);
      assert.equal(r.body.software_statement, body.software_statement);
      const rotated = String(r.body.registration_access_token);
      assert.notEqual(rotated, body.registration_access_token);
      assertRefused(
        await call('GET', path, undefined, { token: body.registration_access_token }),
        401,
        'invalid_token',
      );
      const read = await call('GET', path, undefined, { token: rotated });
      assert.equal(read.status, 200);
      assert.equal(read.body.scope, 'accounts:read');
      assert.notEqual(read.body.registration_access_token, rotated, 'the read rotated it again');
      // The token endpoint sees the narrower client at once.
      const token = await tokenRequest(body.client_id, mtls(software));
      assert.equal(token.status, 200, JSON.stringify(token.body));
      assert.equal(token.body.scope, 'accounts:read');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', body.client_id)
        .orderBy('seq')
        .execute();
      assert.ok(audit.some((a) => a.action === 'dynamic_registration.update'));
    });

    const updateRefusals: Array<{
      name: string;
      changes: () => Record<string, unknown>;
      fields: string[];
      error?: string;
    }> = [
      {
        name: 'fail/update moving the client to another organisation',
        changes: () => ({ org_id: beta }),
        fields: ['org_id'],
      },
      {
        name: 'fail/update swapping the certificate identity for another organisation’s certificate',
        changes: () => ({ tls_client_auth_subject_dn: betaApp.subject }),
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/update swapping the certificate identity for another certificate of the organisation',
        changes: () => ({ tls_client_auth_subject_dn: otherAcmeApp.subject }),
        fields: ['tls_client_auth_subject_dn'],
      },
      {
        name: 'fail/update widening roles beyond the statement',
        changes: () => ({ roles: ['partner_reader', 'partner_writer', 'partner_analyst'] }),
        fields: ['roles'],
      },
      {
        name: 'fail/update widening scope beyond the statement',
        changes: () => ({ scope: 'accounts:read reports:download' }),
        fields: ['scope'],
      },
      {
        name: 'fail/update with a redirect URI outside the statement',
        changes: () => ({ redirect_uris: ['https://evil.example/cb'] }),
        fields: ['redirect_uris[0]'],
        error: 'invalid_redirect_uri',
      },
      {
        name: 'fail/update without client_id',
        changes: () => ({ client_id: undefined }),
        fields: ['client_id'],
      },
      {
        name: 'fail/update sending server-provisioned values',
        changes: () => ({ registration_access_token: 'x', client_id_issued_at: 1 }),
        fields: ['registration_access_token', 'client_id_issued_at'],
      },
      {
        name: 'fail/update replacing the software statement',
        changes: () => ({ software_statement: 'a.b.c' }),
        fields: ['software_statement'],
      },
      {
        name: 'fail/update changing the software_id',
        changes: () => ({ software_id: otherAcmeApp.clientId }),
        fields: ['software_id'],
      },
    ];
    for (const c of updateRefusals) {
      test(`${c.name}: 400, nothing changes, the token is not rotated`, async () => {
        const body = await registered();
        const path = `/register/${body.client_id}`;
        const before = await call('GET', path, undefined, { token: body.registration_access_token });
        const token = String(before.body.registration_access_token);
        const r = await call('PUT', path, updateBody(body, c.changes()), { token });
        assertRefused(r, 400, c.error ?? 'invalid_client_metadata', c.fields);
        const afterRead = await call('GET', path, undefined, { token });
        assert.equal(afterRead.status, 200, 'the token the refused update presented still works');
        const { registration_access_token: _before, ...expected } = before.body;
        const { registration_access_token: _after, ...actual } = afterRead.body;
        assert.deepEqual(actual, expected);
      });
    }

    test('ok/RFC 7592 §2.3: delete is 204; the registration and its token end, the client is gone everywhere', async () => {
      const body = await registered();
      const path = `/register/${body.client_id}`;
      assert.equal((await tokenRequest(body.client_id, mtls(software))).status, 200);
      const seqBefore = Number(
        (
          await storage.db
            .selectFrom('change_feed')
            .select((eb) => eb.fn.max('seq').as('seq'))
            .executeTakeFirstOrThrow()
        ).seq,
      );
      const r = await call('DELETE', path, undefined, { token: body.registration_access_token });
      assert.equal(r.status, 204);
      assertRefused(
        await call('GET', path, undefined, { token: body.registration_access_token }),
        401,
        'invalid_token',
      );
      assertRefused(
        await call('DELETE', path, undefined, { token: body.registration_access_token }),
        401,
        'invalid_token',
      );
      const registration = await storage.db
        .selectFrom('dynamic_registrations')
        .select('status')
        .where('client_id', '=', body.client_id)
        .executeTakeFirstOrThrow();
      assert.equal(registration.status, 'deleted');
      const app = await storage.db
        .selectFrom('applications')
        .select('status')
        .where('client_id', '=', body.client_id)
        .executeTakeFirstOrThrow();
      assert.equal(app.status, 'deleted');
      // The gateway learns it from the change feed (app.status deleted) and refuses the client's tokens at once.
      const changes = await storage.db
        .selectFrom('change_feed')
        .select(['kind', 'payload'])
        .where('entity_id', '=', body.client_id)
        .where('seq', '>', seqBefore)
        .execute();
      assert.ok(changes.some((c) => c.kind === 'app.status' && JSON.parse(c.payload).status === 'deleted'));
      assertRefused(await tokenRequest(body.client_id, mtls(software)), 401, 'invalid_client');
      assert.equal((await verifyAuditChain(storage.db)).ok, true);
    });
  });
}
