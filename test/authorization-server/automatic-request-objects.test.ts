import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  checkClientAssertionClaims,
  checkRequestObjectClaims,
  createClientAssertionPolicy,
  createRequestObjectPolicy,
} from '../../src/authorization-server/automatic-registration/index.ts';
import { federatedClientFrom } from '../../src/authorization-server/federation-registration/index.ts';
import { CLIENT_SIGNING_ALGS } from '../../src/authorization-server/routes.ts';
import { FederationError } from '../../src/federation/index.ts';
import { createTestKey, type TestKey } from '../federation/support/topology.ts';

const OP = 'https://op.example.org';
const RP = 'https://rp.example.org';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);
const expected = { clientId: RP, audience: OP, algorithms: CLIENT_SIGNING_ALGS, now: NOW, skewSeconds: 15 };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let key: TestKey;
before(async () => {
  key = await createTestKey('rp-1');
});

const requestClaims = (overrides: Record<string, unknown> = {}) => {
  const claims: Record<string, unknown> = {
    iss: RP,
    client_id: RP,
    aud: OP,
    jti: 'jti-1',
    iat: T,
    exp: T + 300,
    response_type: 'code',
    ...overrides,
  };
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  return claims;
};
const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.kid, ...header }).sign(key.privateKey);

const errorIs = (error: string, description?: RegExp) => (err: unknown) => {
  const e = err as { error?: string; error_description?: string };
  assert.equal(e.error, error, e.error_description);
  if (description) assert.match(e.error_description ?? '', description);
  return true;
};

describe('Request Object rules (OpenID Federation 1.0 §12.1.1.1)', () => {
  test('ok/a Request Object as §12.1.1.1 describes it, aud as a string or a one-element array', async () => {
    for (const aud of [OP, [OP]]) {
      const decoded = checkRequestObjectClaims(await sign(requestClaims({ aud })), expected);
      assert.equal(decoded.payload.jti, 'jti-1');
      assert.equal(decoded.header.alg, 'ES256');
    }
  });

  const refused: Array<[string, () => Promise<string> | string, RegExp]> = [
    [
      'alg none (§12.1.1.1 "MUST be signed")',
      () => `${b64({ alg: 'none' })}.${b64(requestClaims())}.`,
      /signed/,
    ],
    [
      'HS256: a MAC proves no RP key (RFC 9101 §10.2)',
      () => `${b64({ alg: 'HS256' })}.${b64(requestClaims())}.c2ln`,
      /signed with one of/,
    ],
    ['encrypted (JWE)', () => 'a.b.c.d.e', /signed JWT/],
    ['not a JWT', () => 'not-a-jwt', /signed JWT/],
    ['garbage segments', () => 'a.b.c', /well-formed/],
    ['iss another entity', () => sign(requestClaims({ iss: 'https://other.example.org' })), /iss/],
    ['no iss', () => sign(requestClaims({ iss: undefined })), /iss/],
    ['no client_id (REQUIRED)', () => sign(requestClaims({ client_id: undefined })), /client_id/],
    [
      'client_id another entity',
      () => sign(requestClaims({ client_id: 'https://other.example.org' })),
      /client_id/,
    ],
    ['no aud', () => sign(requestClaims({ aud: undefined })), /aud/],
    ['aud another OP', () => sign(requestClaims({ aud: 'https://op.other.example' })), /aud/],
    ['aud with another value too (MUST NOT)', () => sign(requestClaims({ aud: [OP, `${OP}/token`] })), /aud/],
    ['sub present (MUST NOT)', () => sign(requestClaims({ sub: RP })), /sub/],
    ['no jti (REQUIRED)', () => sign(requestClaims({ jti: undefined })), /jti/],
    ['empty jti', () => sign(requestClaims({ jti: '' })), /jti/],
    ['no exp (REQUIRED)', () => sign(requestClaims({ exp: undefined })), /exp/],
    ['expired', () => sign(requestClaims({ exp: T - 60 })), /expired/],
    ['exp too far ahead', () => sign(requestClaims({ exp: T + 7200 })), /expire within/],
    ['nbf in the future', () => sign(requestClaims({ nbf: T + 600 })), /nbf/],
    ['iat in the future', () => sign(requestClaims({ iat: T + 600 })), /iat/],
    [
      'claims nested 20,000 levels',
      () => {
        const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
        const claims = JSON.stringify(requestClaims({ claims: '__deep__' })).replace('"__deep__"', deep);
        return `${b64({ alg: 'ES256', kid: key.kid })}.${Buffer.from(claims).toString('base64url')}.c2ln`;
      },
      /nest deeper than 64/,
    ],
  ];
  for (const [name, jwt, description] of refused) {
    test(`fail/${name} → invalid_request_object`, async () => {
      const value = await jwt();
      assert.throws(
        () => checkRequestObjectClaims(value, expected),
        errorIs('invalid_request_object', description),
      );
    });
  }

  test('fail/the request parameter given twice → invalid_request_object, not a crash', () => {
    assert.throws(() => checkRequestObjectClaims(['a', 'b'], expected), errorIs('invalid_request_object'));
  });
});

describe('client assertion rules at the PAR endpoint (§12.1.1.2)', () => {
  const assertionClaims = (overrides: Record<string, unknown> = {}) =>
    requestClaims({ client_id: undefined, response_type: undefined, sub: RP, exp: T + 60, ...overrides });
  const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

  test('ok/iss = sub = the Entity Identifier, aud the OP alone', async () => {
    const decoded = checkClientAssertionClaims(await sign(assertionClaims()), TYPE, expected);
    assert.equal(decoded.payload.sub, RP);
  });

  const refused: Array<[string, () => Promise<string> | string, unknown?]> = [
    ['alg none', () => `${b64({ alg: 'none' })}.${b64(assertionClaims())}.`],
    ['sub another entity', () => sign(assertionClaims({ sub: 'https://other.example.org' }))],
    ['iss another entity', () => sign(assertionClaims({ iss: 'https://other.example.org' }))],
    ['aud the token endpoint', () => sign(assertionClaims({ aud: `${OP}/token` }))],
    ['aud with another value too (MUST NOT)', () => sign(assertionClaims({ aud: [OP, `${OP}/request`] }))],
    ['no jti', () => sign(assertionClaims({ jti: undefined }))],
    ['expired', () => sign(assertionClaims({ exp: T - 60 }))],
    [
      'wrong assertion type',
      () => sign(assertionClaims()),
      'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    ],
  ];
  for (const [name, jwt, type] of refused) {
    test(`fail/${name} → invalid_client`, async () => {
      const value = await jwt();
      assert.throws(
        () => checkClientAssertionClaims(value, type ?? TYPE, expected),
        errorIs('invalid_client'),
      );
    });
  }
});

describe('Request Object policy for every client (oidc-provider hook)', () => {
  function context(route: string, request: string, pushed = false) {
    const seen = new Set<string>();
    return {
      oidc: {
        route,
        params: { request },
        entities: pushed ? { PushedAuthorizationRequest: {} } : {},
        provider: {
          ReplayDetection: {
            unique: async (iss: string, jti: string) => {
              const k = `${iss} ${jti}`;
              if (seen.has(k)) return false;
              seen.add(k);
              return true;
            },
          },
        },
      },
    };
  }
  const policy = createRequestObjectPolicy({
    issuer: OP,
    algorithms: CLIENT_SIGNING_ALGS,
    clock: () => NOW,
    skewSeconds: 15,
  });
  const client = { clientId: RP } as never;

  test('ok/once; fail/the same jti again → invalid_request_object (§12.1.1.1 "used once")', async () => {
    const jwt = await sign(requestClaims());
    const ctx = context('authorization', jwt);
    await policy(ctx as never, {}, {}, client);
    await assert.rejects(
      Promise.resolve(policy(ctx as never, {}, {}, client)),
      errorIs('invalid_request_object', /used before/),
    );
  });

  test('ok/a pushed request is not checked again at the authorization endpoint (its jti was spent at PAR)', async () => {
    const jwt = await sign(requestClaims());
    const ctx = context('authorization', jwt, true);
    await policy(ctx as never, {}, {}, client);
    await policy(ctx as never, {}, {}, client);
  });

  test('fail/the rules hold for registered clients too: sub present → invalid_request_object', async () => {
    const ctx = context('authorization', await sign(requestClaims({ sub: RP })));
    await assert.rejects(
      Promise.resolve(policy(ctx as never, {}, {}, client)),
      errorIs('invalid_request_object'),
    );
  });

  test('client assertions: aud the OP alone at PAR for Entity Identifiers; the token endpoint keeps RFC 7523 audiences', async () => {
    const assertionPolicy = createClientAssertionPolicy({ issuer: OP });
    const at = (route: string) => ({ oidc: { route } }) as never;
    const federation = { clientId: RP } as never;
    const manual = { clientId: 'cl_abc' } as never;
    await assertionPolicy(at('pushed_authorization_request'), { aud: OP }, {}, federation);
    await assertionPolicy(at('pushed_authorization_request'), { aud: [OP] }, {}, federation);
    await assert.rejects(
      Promise.resolve(
        assertionPolicy(at('pushed_authorization_request'), { aud: [OP, `${OP}/request`] }, {}, federation),
      ),
      errorIs('invalid_client'),
    );
    await assertionPolicy(at('token'), { aud: `${OP}/token` }, {}, federation);
    await assertionPolicy(at('pushed_authorization_request'), { aud: `${OP}/request` }, {}, manual);
  });
});

describe('federation client metadata: grants, response types and redirection URIs kept (§12.1, §12.2)', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] };
  const rp = (overrides: Record<string, unknown>) => ({
    token_endpoint_auth_method: 'private_key_jwt',
    jwks,
    ...overrides,
  });

  test('ok/client credentials alone (or no grant_types) stores nothing beyond the keys, as before', () => {
    for (const grants of [undefined, ['client_credentials'], ['client_credentials', 'refresh_token']]) {
      const client = federatedClientFrom(RP, rp({ grant_types: grants }));
      assert.deepEqual(client.grantTypes, ['client_credentials']);
      assert.deepEqual(client.metadata, { jwks });
    }
  });

  test('ok/an RP asking for the FAPI 2.0 profile keeps fapi_profile "2.0"; any other value is dropped (exempt)', () => {
    const code = { grant_types: ['authorization_code'], redirect_uris: ['https://rp.example.org/cb'] };
    assert.equal(federatedClientFrom(RP, rp({ ...code, fapi_profile: '2.0' })).metadata.fapi_profile, '2.0');
    for (const value of ['off', '1.0', 2, undefined]) {
      assert.equal(
        federatedClientFrom(RP, rp({ ...code, fapi_profile: value })).metadata.fapi_profile,
        undefined,
      );
    }
  });

  test('ok/authorization code without client credentials, https redirect URIs only', () => {
    const client = federatedClientFrom(
      RP,
      rp({
        grant_types: ['authorization_code', 'refresh_token', 'implicit'],
        redirect_uris: [
          'https://rp.example.org/cb',
          'http://rp.example.org/cb',
          'https://rp.example.org/cb#x',
          7,
        ],
      }),
    );
    assert.deepEqual(client.grantTypes, ['authorization_code']);
    assert.deepEqual(client.redirectUris, ['https://rp.example.org/cb']);
    assert.deepEqual(client.metadata, {
      jwks,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['https://rp.example.org/cb'],
    });
  });

  test('ok/authorization code with no usable redirect URI or no code response type is left out', () => {
    for (const extra of [
      { redirect_uris: ['http://rp.example.org/cb'] },
      { redirect_uris: ['https://rp.example.org/cb'], response_types: ['id_token'] },
    ]) {
      const client = federatedClientFrom(
        RP,
        rp({ grant_types: ['authorization_code', 'client_credentials'], ...extra }),
      );
      assert.deepEqual(client.grantTypes, ['client_credentials']);
      assert.deepEqual(client.redirectUris, []);
    }
  });

  test('fail/nothing this server offers → invalid_client_metadata', () => {
    for (const extra of [
      { grant_types: ['authorization_code'] },
      { grant_types: ['implicit', 'refresh_token'] },
      { grant_types: 'client_credentials' },
      { grant_types: [] },
    ]) {
      assert.throws(
        () => federatedClientFrom(RP, rp(extra)),
        (err: unknown) => err instanceof FederationError && err.code === 'invalid_client_metadata',
        JSON.stringify(extra),
      );
    }
  });
});
