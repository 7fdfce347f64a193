import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { AdapterPayload } from 'oidc-provider';
import pino from 'pino';
import {
  type AutomaticRegistration,
  createAutomaticRegistration,
} from '../../src/authorization-server/automatic-registration/index.ts';
import { endFederationRegistration } from '../../src/authorization-server/federation-registration/index.ts';
import { CLIENT_SIGNING_ALGS } from '../../src/authorization-server/routes.ts';
import { createOrganisation, setApplicationStatus } from '../../src/directory/index.ts';
import {
  addSubordinate,
  type ResolvedEntity,
  type ResolveOptions,
  type ResolveResult,
  type TrustChainResolver,
} from '../../src/federation/index.ts';
import { x5tS256 } from '../../src/pki/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { createTestKey, type TestKey } from '../federation/support/topology.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';
import { opensslKeyAndRequest } from '../support/platform-process.ts';

const targets = await engineTargets();
const OP = 'https://op.example.org';
const TA = 'https://ta.example.org';
const LEAF = 'https://rp.example.org';
const MARK = `${OP}/trust-marks/accredited-partner`;
const REDIRECT = 'https://rp.example.org/cb';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const RP = 'openid_relying_party';

type Route = 'authorization' | 'pushed_authorization_request' | 'token';
const PATHS: Record<Route, [string, string]> = {
  authorization: ['/auth', 'GET'],
  pushed_authorization_request: ['/request', 'POST'],
  token: ['/token', 'POST'],
};

interface FakeResolver extends TrustChainResolver {
  resolved: Array<{ entityId: string } & ResolveOptions>;
  validated: string[][];
  /** What resolution answers; undefined: no valid chain. */
  entity: ResolvedEntity | undefined;
}

function fakeResolver(): FakeResolver {
  const answer = (entity: ResolvedEntity | undefined): ResolveResult =>
    entity
      ? { ok: true, entity, findings: [] }
      : { ok: false, findings: [{ step: '§10.1', code: 'no_chain', message: 'no path to a Trust Anchor' }] };
  const fake: FakeResolver = {
    resolved: [],
    validated: [],
    entity: undefined,
    async resolve(entityId, options = {}) {
      fake.resolved.push({ entityId, ...options });
      return answer(fake.entity);
    },
    async validateChain(chain) {
      fake.validated.push(chain);
      return answer(chain[0] === 'valid-chain-about-the-leaf' ? fake.entity : undefined);
    },
  };
  return fake;
}

for (const target of targets) {
  describe(`automatic registration (OpenID Federation 1.0 §12.1): ${target.name}`, {
    skip: target.skip,
  }, () => {
    let rpKey: TestKey;
    let otherKey: TestKey;
    let certX5t: string;
    let certJwk: Record<string, unknown>;
    let dir: string;

    before(async () => {
      rpKey = await createTestKey('rp-1');
      otherKey = await createTestKey('other-1');
      dir = mkdtempSync(join(tmpdir(), 'accredit-automatic-'));
      await opensslKeyAndRequest({
        key: join(dir, 'rp.key'),
        out: join(dir, 'rp.crt'),
        subject: '/CN=rp',
        selfSignedDays: 1,
      });
      const cert = new X509Certificate(readFileSync(join(dir, 'rp.crt')));
      certX5t = x5tS256(cert.raw);
      certJwk = { ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] };
    });
    const partnerFetcher = testPartnerFetcher();
    after(async () => {
      await partnerFetcher.close();
      rmSync(dir, { recursive: true, force: true });
      await target.cleanup();
    });

    async function setup(rp: Record<string, unknown> = {}) {
      let now = new Date('2026-03-01T12:00:00.000Z');
      const clock = () => now;
      const storage: Storage = await seededStorage(target);
      const meta = { actor: 'operator:test', now };
      const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Partner' }, meta));
      await storage.transaction((tx) =>
        addSubordinate(
          tx,
          { entityId: LEAF, orgId, jwks: { keys: [rpKey.publicJwk] } },
          { authorityEntityId: OP },
          meta,
        ),
      );
      const resolver = fakeResolver();
      const seconds = () => Math.floor(now.getTime() / 1000);
      const resolvedEntity = (lifetime = 3600): ResolvedEntity => ({
        entityId: LEAF,
        trustAnchor: TA,
        trustChain: ['leaf-ec', 'op-about-leaf', 'ta-ec'],
        statements: [
          { iss: LEAF, sub: LEAF, iat: seconds(), exp: seconds() + lifetime },
          // The platform's statement states the keys it holds for the subordinate (checked at registration).
          {
            iss: OP,
            sub: LEAF,
            iat: seconds(),
            exp: seconds() + lifetime,
            jwks: { keys: [rpKey.publicJwk] },
          },
          { iss: TA, sub: TA, iat: seconds(), exp: seconds() + lifetime },
        ],
        expiresAt: seconds() + lifetime,
        metadata: {
          [RP]: {
            client_name: 'Leaf RP',
            token_endpoint_auth_method: 'private_key_jwt',
            grant_types: ['authorization_code', 'client_credentials'],
            redirect_uris: [REDIRECT, 'http://rp.example.org/insecure'],
            jwks: { keys: [rpKey.publicJwk] },
            ...rp,
          },
        },
        trustMarks: [{ trust_mark_type: MARK, trust_mark: 'jwt', iss: OP, sub: LEAF, iat: seconds() }],
      });
      resolver.entity = resolvedEntity();
      const automatic: AutomaticRegistration = createAutomaticRegistration({
        storage,
        resolver,
        entityId: OP,
        trustMarkTypes: [{ type: MARK, roles: ['partner_reader'] }],
        clock,
        logger: pino({ level: 'silent' }),
        algorithms: CLIENT_SIGNING_ALGS,
        skewSeconds: 15,
        presentedCertificate: (ctx) => (ctx as unknown as { certificate?: string }).certificate,
        urlGuard: partnerFetcher,
      });

      const requestObject = (claims: Record<string, unknown> = {}, key = rpKey, header = {}) =>
        new SignJWT({
          iss: LEAF,
          client_id: LEAF,
          aud: OP,
          jti: crypto.randomUUID(),
          exp: seconds() + 300,
          response_type: 'code',
          redirect_uri: REDIRECT,
          ...claims,
        })
          .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...header })
          .sign(key.privateKey);
      const assertion = (key = rpKey) =>
        new SignJWT({ iss: LEAF, sub: LEAF, aud: OP, jti: crypto.randomUUID(), exp: seconds() + 60 })
          .setProtectedHeader({ alg: 'ES256', kid: key.kid })
          .sign(key.privateKey);

      /** One request through the middleware, in which oidc-provider looks the client up (twice, as it may). */
      async function find(
        route: Route,
        input: { params?: Record<string, unknown>; body?: Record<string, unknown>; certificate?: string },
        clientId = LEAF,
      ): Promise<AdapterPayload | undefined> {
        const [path, method] = PATHS[route];
        const ctx = {
          path,
          method,
          oidc: { route, params: input.params ?? input.body ?? {}, body: input.body },
          certificate: input.certificate,
        };
        let found: AdapterPayload | undefined;
        await automatic.middleware(ctx as never, async () => {
          found = await automatic.findClient(clientId);
          assert.deepEqual(await automatic.findClient(clientId), found, 'the same client the second time');
        });
        return found;
      }
      const registration = () =>
        storage.db
          .selectFrom('federation_registrations')
          .selectAll()
          .where('client_id', '=', LEAF)
          .executeTakeFirst();
      return {
        storage,
        orgId,
        resolver,
        resolvedEntity,
        find,
        requestObject,
        assertion,
        registration,
        advance: (s: number) => {
          now = new Date(now.getTime() + s * 1000);
        },
        close: () => storage.close(),
      };
    }

    const refusal = (error: string, description?: RegExp) => (err: unknown) => {
      const e = err as { error?: string; error_description?: string; allow_redirect?: boolean };
      assert.equal(e.error, error, e.error_description);
      if (description) assert.match(e.error_description ?? '', description);
      assert.equal(e.allow_redirect, false, 'never redirected');
      return true;
    };

    test('ok/a signed Request Object at the authorization endpoint registers the RP once per request, with its https redirect URIs', async () => {
      const s = await setup();
      try {
        const client = await s.find('authorization', { params: { request: await s.requestObject() } });
        assert.equal(client?.client_id, LEAF);
        assert.deepEqual(client?.grant_types, ['authorization_code', 'client_credentials']);
        assert.deepEqual(client?.response_types, ['code']);
        assert.deepEqual(client?.redirect_uris, [REDIRECT], 'the http redirect URI is not kept');
        assert.equal(client?.token_endpoint_auth_method, 'private_key_jwt');
        assert.equal(s.resolver.resolved.length, 1, 'resolved once although looked up twice');
        assert.equal(s.resolver.resolved[0]?.forceRefresh, false);
        assert.equal(s.resolver.resolved[0]?.entityType, RP);
        const row = await s.registration();
        assert.equal(row?.kind, 'automatic');
        assert.equal(row?.org_id, s.orgId);

        // Registered and current: the next request does not resolve again.
        await s.find('authorization', { params: { request: await s.requestObject() } });
        assert.equal(s.resolver.resolved.length, 1);
      } finally {
        await s.close();
      }
    });

    test('ok/PAR with a private_key_jwt client assertion alone registers the RP', async () => {
      const s = await setup();
      try {
        const client = await s.find('pushed_authorization_request', {
          body: {
            client_id: LEAF,
            client_assertion_type: JWT_BEARER,
            client_assertion: await s.assertion(),
            redirect_uri: REDIRECT,
          },
        });
        assert.equal(client?.client_id, LEAF);
      } finally {
        await s.close();
      }
    });

    test('ok/PAR with a self-signed certificate that is the x5c of an RP key registers the RP (§12.1.1.2)', async () => {
      const s = await setup({
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [certJwk] },
      });
      try {
        const client = await s.find('pushed_authorization_request', {
          body: { client_id: LEAF, redirect_uri: REDIRECT },
          certificate: certX5t,
        });
        assert.equal(client?.token_endpoint_auth_method, 'self_signed_tls_client_auth');
      } finally {
        await s.close();
      }
    });

    test('ok/an expired registration is resolved again, afresh (§12.1.1.1.2), and renewed', async () => {
      const s = await setup();
      try {
        s.resolver.entity = s.resolvedEntity(60);
        await s.find('authorization', { params: { request: await s.requestObject() } });
        const first = await s.registration();
        s.advance(120);
        s.resolver.entity = s.resolvedEntity(3600);
        await s.find('authorization', { params: { request: await s.requestObject() } });
        assert.equal(s.resolver.resolved.length, 2);
        assert.equal(s.resolver.resolved[1]?.forceRefresh, true);
        const renewed = await s.registration();
        assert.ok(renewed!.expires_at > first!.expires_at);
        assert.equal(renewed?.status, 'active');
      } finally {
        await s.close();
      }
    });

    test('ok/a trust_chain header (§4.3) that validates is used instead of resolution; one about someone else is not', async () => {
      const s = await setup();
      try {
        const bogus = await s.requestObject({}, rpKey, { trust_chain: ['a-chain-about-someone-else', 'x'] });
        await assert.rejects(
          s.find('authorization', {
            params: { request: await s.requestObject({}, otherKey, { trust_chain: ['x', 'y'] }) },
          }),
          refusal('invalid_request_object'),
        );
        await s.find('authorization', { params: { request: bogus } });
        assert.equal(s.resolver.resolved.length, 2, 'an invalid chain falls back to resolution');
        // Its registration ended (the chain broke, say): the RP may come back through a valid chain.
        await s.storage.transaction((tx) =>
          endFederationRegistration(tx, LEAF, 'test', { actor: 'system:test', now: new Date() }),
        );
        const withChain = await s.requestObject({}, rpKey, {
          trust_chain: ['valid-chain-about-the-leaf', 'ta'],
        });
        await s.find('authorization', { params: { request: withChain } });
        assert.equal(s.resolver.resolved.length, 2, 'no resolution with a valid chain');
        assert.equal(s.resolver.validated.at(-1)?.[0], 'valid-chain-about-the-leaf');
      } finally {
        await s.close();
      }
    });

    test('ok/the token endpoint, pushed requests and non-URL client ids never register', async () => {
      const s = await setup();
      try {
        assert.equal(
          await s.find('token', {
            body: { client_assertion_type: JWT_BEARER, client_assertion: await s.assertion() },
          }),
          undefined,
        );
        assert.equal(
          await s.find('authorization', { params: { request_uri: 'urn:ietf:params:oauth:request_uri:x' } }),
          undefined,
        );
        assert.equal(await s.find('authorization', { params: {} }, 'cl_manual'), undefined);
        assert.equal(s.resolver.resolved.length, 0);
      } finally {
        await s.close();
      }
    });

    test('fail/an RP suspended by an operator is not brought back by automatic registration', async () => {
      const s = await setup();
      try {
        await s.find('authorization', { params: { request: await s.requestObject() } });
        await s.storage.transaction((tx) =>
          setApplicationStatus(tx, LEAF, 'suspended', { actor: 'operator:test', now: new Date() }),
        );
        assert.equal(
          await s.find('authorization', { params: { request: await s.requestObject() } }),
          undefined,
        );
        assert.equal(s.resolver.resolved.length, 1);
      } finally {
        await s.close();
      }
    });

    const refused: Array<{
      name: string;
      rp?: Record<string, unknown>;
      noChain?: boolean;
      request: (s: Awaited<ReturnType<typeof setup>>) => Promise<[Route, Record<string, unknown>, string?]>;
      error: string;
      description?: RegExp;
      resolves?: boolean;
    }> = [
      {
        name: 'a plain authorization request (no Request Object)',
        request: async () => ['authorization', { params: { redirect_uri: REDIRECT } }],
        error: 'invalid_request',
        description: /signed Request Object/,
      },
      {
        name: 'a Request Object signed with a key not in the resolved metadata',
        request: async (s) => ['authorization', { params: { request: await s.requestObject({}, otherKey) } }],
        error: 'invalid_request_object',
        resolves: true,
      },
      {
        name: 'a Request Object whose client_id is someone else',
        request: async (s) => [
          'authorization',
          { params: { request: await s.requestObject({ client_id: 'https://other.example.org' }) } },
        ],
        error: 'invalid_request_object',
      },
      {
        name: 'a redirect_uri not in the resolved metadata (authorization endpoint)',
        request: async (s) => [
          'authorization',
          { params: { request: await s.requestObject({ redirect_uri: 'https://evil.example/cb' }) } },
        ],
        error: 'invalid_redirect_uri',
        resolves: true,
      },
      {
        name: 'an http redirect_uri of the resolved metadata (not kept)',
        request: async (s) => [
          'authorization',
          { params: { request: await s.requestObject({ redirect_uri: 'http://rp.example.org/insecure' }) } },
        ],
        error: 'invalid_redirect_uri',
        resolves: true,
      },
      {
        name: 'a redirect_uri not in the resolved metadata (PAR)',
        request: async (s) => [
          'pushed_authorization_request',
          {
            body: {
              client_assertion_type: JWT_BEARER,
              client_assertion: await s.assertion(),
              redirect_uri: 'https://evil.example/cb',
            },
          },
        ],
        error: 'invalid_request',
        resolves: true,
      },
      {
        name: 'no valid Trust Chain',
        noChain: true,
        request: async (s) => ['authorization', { params: { request: await s.requestObject() } }],
        error: 'invalid_trust_chain',
        description: /no path to a Trust Anchor \(§10\.1\)/,
        resolves: true,
      },
      {
        name: 'keys only by reference (jwks_uri)',
        rp: { jwks: undefined, jwks_uri: 'https://rp.example.org/jwks' },
        request: async (s) => ['authorization', { params: { request: await s.requestObject() } }],
        error: 'invalid_client_metadata',
        resolves: true,
      },
      {
        name: 'metadata without the authorization code grant',
        rp: { grant_types: ['client_credentials'] },
        request: async (s) => ['authorization', { params: { request: await s.requestObject() } }],
        error: 'unauthorized_client',
        resolves: true,
      },
      {
        name: 'a client assertion from an RP that registers self_signed_tls_client_auth',
        rp: { token_endpoint_auth_method: 'self_signed_tls_client_auth' },
        request: async (s) => [
          'pushed_authorization_request',
          {
            body: {
              client_assertion_type: JWT_BEARER,
              client_assertion: await s.assertion(),
              redirect_uri: REDIRECT,
            },
          },
        ],
        error: 'invalid_client',
        resolves: true,
      },
      {
        name: 'a self-signed certificate that is no x5c of the RP’s keys',
        rp: { token_endpoint_auth_method: 'self_signed_tls_client_auth' },
        request: async () => [
          'pushed_authorization_request',
          { body: { redirect_uri: REDIRECT }, certificate: 'not-the-thumbprint' },
        ],
        error: 'invalid_client',
        resolves: true,
      },
      {
        name: 'PAR with a client assertion signed with a key not in the resolved metadata (§12.1.1.2.1)',
        request: async (s) => [
          'pushed_authorization_request',
          {
            body: {
              client_assertion_type: JWT_BEARER,
              client_assertion: await s.assertion(otherKey),
              redirect_uri: REDIRECT,
            },
          },
        ],
        error: 'invalid_client',
        resolves: true,
      },
      {
        name: 'PAR with only a certificate while the RP registers private_key_jwt (no proof of an RP key)',
        request: async () => [
          'pushed_authorization_request',
          { body: { redirect_uri: REDIRECT }, certificate: certX5t },
        ],
        error: 'invalid_client',
        description: /does not prove possession/,
        resolves: true,
      },
      {
        name: 'PAR with no proof at all',
        request: async () => ['pushed_authorization_request', { body: { redirect_uri: REDIRECT } }],
        error: 'invalid_client',
      },
      {
        name: 'a subordinate-less chain (registerFederationClient refuses)',
        request: async (s) => {
          s.resolver.entity = {
            ...s.resolver.entity!,
            statements: s.resolver.entity!.statements.map((st) => ({ ...st, iss: TA })),
          };
          return ['authorization', { params: { request: await s.requestObject() } }];
        },
        error: 'invalid_trust_chain',
        description: /subordinate of this platform/,
        resolves: true,
      },
      {
        name: "a verified Trust Mark of the platform's type that another accredited issuer signed (no role)",
        request: async (s) => {
          s.resolver.entity = {
            ...s.resolver.entity!,
            trustMarks: s.resolver.entity!.trustMarks.map((m) => ({
              ...m,
              iss: 'https://accredited-issuer.example.org',
            })),
          };
          return ['authorization', { params: { request: await s.requestObject() } }];
        },
        error: 'invalid_trust_chain',
        description: /Trust Mark of a type this platform grants roles for/,
        resolves: true,
      },
      {
        name: "the platform's statement carries keys it no longer holds for the subordinate",
        request: async (s) => {
          const stale = await createTestKey('stale');
          s.resolver.entity = {
            ...s.resolver.entity!,
            statements: s.resolver.entity!.statements.map((st) =>
              st.iss === OP && st.sub === LEAF ? { ...st, jwks: { keys: [stale.publicJwk] } } : st,
            ),
          };
          return ['authorization', { params: { request: await s.requestObject() } }];
        },
        error: 'invalid_trust_chain',
        description: /keys this platform holds/,
        resolves: true,
      },
    ];
    for (const c of refused) {
      test(`fail/${c.name} → ${c.error}, nothing registered`, async () => {
        const rp = { ...c.rp };
        const s = await setup(rp);
        try {
          const md = s.resolver.entity!.metadata[RP]!;
          for (const [k, v] of Object.entries(rp)) if (v === undefined) delete md[k];
          if (c.noChain) s.resolver.entity = undefined;
          const [route, input] = await c.request(s);
          await assert.rejects(s.find(route, input as never), refusal(c.error, c.description));
          assert.equal(await s.registration(), undefined);
          assert.equal(
            await s.storage.db
              .selectFrom('applications')
              .select('client_id')
              .where('client_id', '=', LEAF)
              .executeTakeFirst(),
            undefined,
          );
          assert.equal(
            s.resolver.resolved.length,
            c.resolves ? 1 : 0,
            'resolution only after the form checks',
          );
        } finally {
          await s.close();
        }
      });
    }
  });
}
