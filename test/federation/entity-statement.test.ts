import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactSign, SignJWT } from 'jose';
import {
  createFederationSigner,
  decodeFederationJwt,
  JWT_TYPES,
  StatementError,
  validateEntityStatementClaims,
  verifyEntityStatement,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { createTestKey, jwksOf, signJwt, type TestKey } from './support/topology.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);
const ISS = 'https://ta.example.org';
const SUB = 'https://leaf.example.org';

const key: TestKey = await createTestKey('k1');
const other: TestKey = await createTestKey('k2');

const configuration = (extra: Record<string, unknown> = {}) => ({
  iss: SUB,
  sub: SUB,
  iat: T - 60,
  exp: T + 3600,
  jwks: jwksOf(key),
  ...extra,
});
const statement = (extra: Record<string, unknown> = {}) => ({ ...configuration(), iss: ISS, ...extra });

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatementError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

async function expectRejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StatementError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('createFederationSigner', () => {
  it('ok/signs with alg, kid and the requested typ (§3)', async () => {
    const signer = createFederationSigner(key.privateKey, key.kid, 'ES256');
    const jwt = await signer.sign(configuration(), JWT_TYPES.entityStatement);
    const { header, payload } = await verifyEntityStatement(jwt, jwksOf(key), { now: NOW });
    assert.deepEqual(header, { alg: 'ES256', kid: 'k1', typ: JWT_TYPES.entityStatement });
    assert.equal(payload.sub, SUB);
  });
});

describe('decodeFederationJwt and verifyFederationJwt (§3.2 steps 1-3, 7-8, 11-12)', () => {
  const cases: Array<{
    name: string;
    jwt: () => Promise<string>;
    code: string;
    jwks?: () => ReturnType<typeof jwksOf>;
  }> = [
    { name: 'not a compact JWS', jwt: async () => 'abc.def', code: 'malformed' },
    { name: 'undecodable parts', jwt: async () => 'a.b.c', code: 'malformed' },
    {
      name: 'typ missing',
      jwt: () => signJwt(configuration(), JWT_TYPES.entityStatement, key, { header: { typ: undefined } }),
      code: 'unsupported_typ',
    },
    {
      name: 'typ of another artefact',
      jwt: () => signJwt(configuration(), JWT_TYPES.trustMark, key),
      code: 'unsupported_typ',
    },
    {
      name: 'alg none',
      jwt: () => signJwt(configuration(), JWT_TYPES.entityStatement, key, { unsigned: true }),
      code: 'unsupported_alg',
    },
    {
      name: 'alg HS256',
      jwt: () =>
        new SignJWT(configuration())
          .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: JWT_TYPES.entityStatement })
          .sign(new Uint8Array(32)),
      code: 'unsupported_alg',
    },
    {
      name: 'kid missing',
      jwt: () => signJwt(configuration(), JWT_TYPES.entityStatement, key, { header: { kid: undefined } }),
      code: 'missing_kid',
    },
    {
      name: 'kid not in the key set',
      jwt: () => signJwt(configuration(), JWT_TYPES.entityStatement, key, { key: other }),
      code: 'unknown_kid',
    },
    {
      name: 'signature by another key under the same kid',
      jwt: async () =>
        signJwt(configuration(), JWT_TYPES.entityStatement, key, { key: { ...other, kid: 'k1' } }),
      code: 'bad_signature',
    },
    {
      name: 'expired',
      jwt: () => signJwt(configuration({ exp: T - 31 }), JWT_TYPES.entityStatement, key),
      code: 'expired',
    },
    {
      name: 'issued in the future',
      jwt: () => signJwt(configuration({ iat: T + 31 }), JWT_TYPES.entityStatement, key),
      code: 'issued_in_future',
    },
    {
      // JSON.parse copes; what walks or stores the claims afterwards would overflow its stack.
      name: 'metadata nested 20,000 levels',
      jwt: () => {
        const claims = JSON.stringify(configuration({ metadata: '__deep__' }));
        const payload = claims.replace('"__deep__"', `{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
        return new CompactSign(new TextEncoder().encode(payload))
          .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: JWT_TYPES.entityStatement })
          .sign(key.privateKey);
      },
      code: 'malformed',
    },
    {
      name: 'exp missing',
      jwt: () => signJwt(configuration({ exp: undefined }), JWT_TYPES.entityStatement, key),
      code: 'missing_claim',
    },
  ];
  for (const c of cases) {
    it(`fail/${c.name} → ${c.code}`, async () => {
      const jwt = await c.jwt();
      await expectRejects(
        verifyFederationJwt(jwt, c.jwks?.() ?? jwksOf(key), { typ: JWT_TYPES.entityStatement, now: NOW }),
        c.code,
      );
    });
  }

  it('ok/within the clock skew', async () => {
    const jwt = await signJwt(configuration({ exp: T - 29, iat: T + 29 }), JWT_TYPES.entityStatement, key);
    await verifyFederationJwt(jwt, jwksOf(key), { typ: JWT_TYPES.entityStatement, now: NOW });
  });

  it('ok/decoding reads iss, sub and hints before any key is known', async () => {
    const jwt = await signJwt(configuration({ authority_hints: [ISS] }), JWT_TYPES.entityStatement, key);
    const { payload } = decodeFederationJwt<{ authority_hints: string[] }>(jwt, JWT_TYPES.entityStatement);
    assert.deepEqual(payload.authority_hints, [ISS]);
  });
});

describe('validateEntityStatementClaims (§3.1, §3.2)', () => {
  const ok: Array<[string, Record<string, unknown>]> = [
    [
      'Entity Configuration',
      configuration({ authority_hints: [ISS], metadata: { openid_relying_party: {} } }),
    ],
    [
      'Subordinate Statement',
      statement({
        metadata_policy: { openid_relying_party: { contacts: { add: ['a@example.org'] } } },
        constraints: {
          max_path_length: 0,
          naming_constraints: { permitted: ['.example.org'] },
          allowed_entity_types: [],
        },
        source_endpoint: 'https://ta.example.org/fetch',
      }),
    ],
    [
      'trust anchor claims',
      configuration({
        trust_mark_issuers: { 'https://tm.example.org/a': [], 'https://tm.example.org/b': [ISS] },
        trust_mark_owners: { 'https://tm.example.org/b': { sub: ISS, jwks: jwksOf(key) } },
      }),
    ],
    [
      'entity identifier with port and path',
      configuration({ iss: 'https://h.example:8443/a', sub: 'https://h.example:8443/a' }),
    ],
  ];
  for (const [name, payload] of ok) {
    it(`ok/${name}`, () => {
      validateEntityStatementClaims(payload);
    });
  }

  const fail: Array<[string, Record<string, unknown>, string]> = [
    ['iss missing', configuration({ iss: undefined }), 'missing_claim'],
    [
      'iss not https',
      configuration({ iss: 'http://leaf.example.org', sub: 'http://leaf.example.org' }),
      'invalid_claim',
    ],
    ['sub with a query', statement({ sub: 'https://leaf.example.org/?a=1' }), 'invalid_claim'],
    ['sub with a fragment', statement({ sub: 'https://leaf.example.org/#x' }), 'invalid_claim'],
    ['jwks missing', configuration({ jwks: undefined }), 'missing_claim'],
    ['jwks empty', configuration({ jwks: { keys: [] } }), 'missing_claim'],
    ['duplicate kid', configuration({ jwks: { keys: [key.publicJwk, key.publicJwk] } }), 'invalid_claim'],
    [
      'private key material',
      configuration({ jwks: { keys: [{ ...key.publicJwk, d: 'x' }] } }),
      'invalid_claim',
    ],
    ['authority_hints in a Subordinate Statement', statement({ authority_hints: [ISS] }), 'invalid_claim'],
    ['authority_hints empty', configuration({ authority_hints: [] }), 'invalid_claim'],
    [
      'trust_anchor_hints in a Subordinate Statement',
      statement({ trust_anchor_hints: [ISS] }),
      'invalid_claim',
    ],
    ['metadata_policy in an Entity Configuration', configuration({ metadata_policy: {} }), 'invalid_claim'],
    [
      'metadata_policy_crit in an Entity Configuration',
      configuration({ metadata_policy_crit: ['regexp'] }),
      'invalid_claim',
    ],
    ['metadata_policy_crit empty', statement({ metadata_policy_crit: [] }), 'invalid_claim'],
    ['constraints in an Entity Configuration', configuration({ constraints: {} }), 'invalid_claim'],
    [
      'source_endpoint in an Entity Configuration',
      configuration({ source_endpoint: 'https://x.example' }),
      'invalid_claim',
    ],
    ['max_path_length negative', statement({ constraints: { max_path_length: -1 } }), 'invalid_claim'],
    ['max_path_length not an integer', statement({ constraints: { max_path_length: 1.5 } }), 'invalid_claim'],
    [
      'naming_constraints not lists',
      statement({ constraints: { naming_constraints: { permitted: 'x' } } }),
      'invalid_claim',
    ],
    [
      'allowed_entity_types lists federation_entity',
      statement({ constraints: { allowed_entity_types: ['federation_entity'] } }),
      'invalid_claim',
    ],
    [
      'metadata with a null value',
      configuration({ metadata: { oauth_client: { client_name: null } } }),
      'invalid_claim',
    ],
    ['metadata for a type not an object', configuration({ metadata: { oauth_client: [] } }), 'invalid_claim'],
    ['trust_marks in a Subordinate Statement', statement({ trust_marks: [] }), 'invalid_claim'],
    [
      'trust_marks entry without a JWT',
      configuration({ trust_marks: [{ trust_mark_type: 'x' }] }),
      'invalid_claim',
    ],
    [
      'trust_mark_issuers not Entity Identifiers',
      configuration({ trust_mark_issuers: { t: ['nope'] } }),
      'invalid_claim',
    ],
    [
      'trust_mark_owners without jwks',
      configuration({ trust_mark_owners: { t: { sub: ISS } } }),
      'invalid_claim',
    ],
    ['crit empty', configuration({ crit: [] }), 'invalid_claim'],
    [
      'crit naming a claim defined by the specification',
      configuration({ crit: ['source_endpoint'] }),
      'invalid_claim',
    ],
    [
      'crit naming an extension that is not understood',
      configuration({ crit: ['jti'], jti: 'x' }),
      'unsupported_crit',
    ],
  ];
  for (const [name, payload, code] of fail) {
    it(`fail/${name} → ${code}`, () => expectCode(() => validateEntityStatementClaims(payload), code));
  }

  it('fail/a trust_marks entry whose type differs from its JWT (§3.2 step 20)', async () => {
    const mark = await signJwt(
      { iss: ISS, sub: SUB, trust_mark_type: 'https://a.example', iat: T },
      JWT_TYPES.trustMark,
      key,
    );
    expectCode(
      () =>
        validateEntityStatementClaims(
          configuration({ trust_marks: [{ trust_mark_type: 'https://b.example', trust_mark: mark }] }),
        ),
      'invalid_claim',
    );
    validateEntityStatementClaims(
      configuration({ trust_marks: [{ trust_mark_type: 'https://a.example', trust_mark: mark }] }),
    );
  });
});

describe('federation keys that would make verification a denial of service', () => {
  const claims = (key: Record<string, unknown>) => ({
    iss: 'https://a.example',
    sub: 'https://a.example',
    iat: 1,
    exp: 2,
    jwks: { keys: [{ kid: 'k', kty: 'RSA', ...key }] },
  });
  const n = (bits: number) => Buffer.alloc(bits / 8, 0xff).toString('base64url');
  for (const [name, key] of [
    ['fail/exponent other than 65537', { n: n(2048), e: 'AQAAAAE' }],
    ['fail/modulus above 4096 bits', { n: n(8192), e: 'AQAB' }],
    ['fail/modulus below 2048 bits', { n: n(1024), e: 'AQAB' }],
  ] as const) {
    it(name, () => {
      assert.throws(() => validateEntityStatementClaims(claims(key)), { code: 'invalid_claim' });
    });
  }
  it('ok/2048-bit key with exponent 65537', () => {
    validateEntityStatementClaims(claims({ n: n(2048), e: 'AQAB' }));
  });
});
