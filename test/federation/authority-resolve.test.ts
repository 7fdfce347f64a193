import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import {
  ENDPOINT_PARAMETERS,
  JWT_TYPES,
  MEDIA_TYPES,
  type ResolveOptions,
  type ResolveResult,
  type TrustChainResolver,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { engineTargets } from '../support/engines.ts';
import { type AuthorityFixture, startAuthority, TA } from './authority-fixture.ts';

const [sqlite] = await engineTargets();
const LEAF = 'https://op.partner.example';
const OTHER_TA = 'https://other-ta.example';

/** Records calls and answers what the test sets: the real resolver is exercised in its own suite. */
function stubResolver(): TrustChainResolver & {
  calls: Array<[string, ResolveOptions | undefined]>;
  answer: ResolveResult;
} {
  const stub = {
    calls: [] as Array<[string, ResolveOptions | undefined]>,
    answer: { ok: false, findings: [] } as ResolveResult,
    async resolve(entityId: string, options?: ResolveOptions) {
      stub.calls.push([entityId, options]);
      return stub.answer;
    },
    async validateChain() {
      return stub.answer;
    },
  };
  return stub;
}

const query = (params: Array<[string, string]>) => `?${new URLSearchParams(params)}`;

describe('federation resolve endpoint (§8.3) with a stub resolver', { skip: sqlite?.skip }, () => {
  let f: AuthorityFixture;
  const resolver = stubResolver();
  before(async () => {
    f = await startAuthority(sqlite!, { resolver, trustAnchors: [TA, OTHER_TA] });
  });
  after(async () => {
    await f?.close();
    await sqlite?.cleanup();
  });

  const inject = async (q: string) => {
    const res = await f.app.inject({ method: 'GET', url: `/federation/resolve${q}` });
    return { status: res.statusCode, type: res.headers['content-type'], body: res.body };
  };

  const invalid: Array<[string, Array<[string, string]>, number, string]> = [
    ['fail/missing sub', [['trust_anchor', TA]], 400, 'invalid_request'],
    ['fail/missing trust_anchor (REQUIRED)', [['sub', LEAF]], 400, 'invalid_request'],
    [
      'fail/sub twice',
      [
        ['sub', LEAF],
        ['sub', TA],
        ['trust_anchor', TA],
      ],
      400,
      'invalid_request',
    ],
    [
      'fail/sub not an Entity Identifier',
      [
        ['sub', 'op.partner.example'],
        ['trust_anchor', TA],
      ],
      400,
      'invalid_request',
    ],
    [
      'fail/trust_anchor not an Entity Identifier',
      [
        ['sub', LEAF],
        ['trust_anchor', 'http://ta.example'],
      ],
      400,
      'invalid_request',
    ],
    [
      'fail/entity_type not an identifier',
      [
        ['sub', LEAF],
        ['trust_anchor', TA],
        ['entity_type', 'Open ID'],
      ],
      400,
      'invalid_request',
    ],
    [
      'fail/an untrusted Trust Anchor',
      [
        ['sub', LEAF],
        ['trust_anchor', 'https://evil.example'],
      ],
      404,
      'invalid_trust_anchor',
    ],
  ];
  for (const [name, params, status, error] of invalid) {
    test(`${name} → ${status} ${error}, the resolver is not called`, async () => {
      const before = resolver.calls.length;
      const res = await inject(query(params));
      assert.equal(res.status, status);
      assert.match(String(res.type), /^application\/json/);
      assert.equal((JSON.parse(res.body) as { error: string }).error, error);
      assert.equal(resolver.calls.length, before);
    });
  }

  test('fail/no valid chain to any requested anchor → 400 invalid_trust_chain with the first finding', async () => {
    resolver.answer = {
      ok: false,
      findings: [
        { step: '§10.2 step 3', code: 'bad_signature', message: 'signature does not verify', entityId: LEAF },
      ],
    };
    resolver.calls.length = 0;
    const res = await inject(
      query([
        ['sub', LEAF],
        ['trust_anchor', 'https://evil.example'],
        ['trust_anchor', TA],
        ['trust_anchor', OTHER_TA],
      ]),
    );
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_trust_chain');
    assert.match(body.error_description, /signature does not verify \(§10\.2 step 3\)/);
    assert.deepEqual(
      resolver.calls.map(([, o]) => o?.trustAnchor),
      [TA, OTHER_TA],
      'each trusted anchor is tried, the untrusted one never',
    );
  });

  test('ok/a signed resolve response: typ, iss, sub, exp = earliest of chain and marks, filtered metadata', async () => {
    const now = Math.floor(f.clock.now.getTime() / 1000);
    resolver.answer = {
      ok: true,
      findings: [],
      entity: {
        entityId: LEAF,
        trustAnchor: TA,
        trustChain: ['leaf-ec', 'ta-statement', 'ta-ec'],
        statements: [],
        expiresAt: now + 900,
        metadata: { openid_provider: { issuer: LEAF }, federation_entity: { organization_name: 'P' } },
        trustMarks: [
          {
            trust_mark_type: 'https://ta.example/tm',
            trust_mark: 'tm-jwt',
            iss: TA,
            sub: LEAF,
            iat: now,
            exp: now + 300,
          },
        ],
      },
    };
    resolver.calls.length = 0;
    const res = await fetch(
      `${f.base}/federation/resolve${query([
        ['sub', LEAF],
        ['trust_anchor', TA],
        ['entity_type', 'openid_provider'],
      ])}`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), MEDIA_TYPES.resolveResponse);
    assert.deepEqual(resolver.calls, [[LEAF, { trustAnchor: TA, entityType: 'openid_provider' }]]);
    const jwt = await res.text();
    assert.equal(decodeProtectedHeader(jwt).typ, 'resolve-response+jwt');
    const ec = decodeJwt(await (await f.get('/.well-known/openid-federation')).text());
    const fe = (ec.metadata as Record<string, Record<string, unknown>>).federation_entity!;
    assert.equal(fe[ENDPOINT_PARAMETERS.resolve], `${TA}/federation/resolve`, 'advertised when served');
    const { payload } = await verifyFederationJwt<Record<string, unknown> & { iat: number; exp: number }>(
      jwt,
      ec.jwks as JSONWebKeySet,
      { typ: JWT_TYPES.resolveResponse, now: f.clock.now },
    );
    assert.equal(payload.iss, TA);
    assert.equal(payload.sub, LEAF);
    assert.equal(payload.exp, now + 300, 'a trust mark expiring before the chain bounds exp');
    assert.equal(payload.aud, undefined, 'no aud for an unauthenticated request');
    assert.deepEqual(payload.metadata, { openid_provider: { issuer: LEAF } });
    assert.deepEqual(payload.trust_marks, [
      { trust_mark_type: 'https://ta.example/tm', trust_mark: 'tm-jwt' },
    ]);
    assert.deepEqual(payload.trust_chain, ['leaf-ec', 'ta-statement', 'ta-ec']);
  });
});
