import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  SignJWT,
} from 'jose';
import { setOrganisationStatus } from '../../src/directory/index.ts';
import {
  ENDPOINT_PARAMETERS,
  issueTrustMark,
  JWT_TYPES,
  MEDIA_TYPES,
  removeSubordinate,
  revokeTrustMark,
  verifyEntityStatement,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import {
  type AuthorityFixture,
  entityKey,
  LIFETIME,
  startAuthority,
  TA,
  TRUST_MARK_TYPE,
} from './authority-fixture.ts';

const targets = await engineTargets();

const LEAF = 'https://rp.partner.example';
const OTHER = 'https://op.partner.example';
const MID = 'https://intermediate.partner.example';

async function entityConfiguration(f: AuthorityFixture) {
  const res = await f.get('/.well-known/openid-federation');
  assert.equal(res.status, 200);
  const jwt = await res.text();
  const claims = decodeJwt(jwt);
  return { res, jwt, claims, jwks: claims.jwks as JSONWebKeySet };
}

async function errorOf(res: Response): Promise<{ status: number; error: string; description: string }> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { error: string; error_description: string };
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.doesNotMatch(body.error_description, /at .*\.ts:\d+/, 'no stack trace');
  return { status: res.status, error: body.error, description: body.error_description };
}

const statusRequest = (f: AuthorityFixture, trustMark: string) =>
  fetch(`${f.base}/federation/trust-mark-status`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ trust_mark: trustMark }),
  });

async function statusOf(f: AuthorityFixture, trustMark: string): Promise<string> {
  const res = await statusRequest(f, trustMark);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), MEDIA_TYPES.trustMarkStatusResponse);
  const jwt = await res.text();
  const { jwks } = await entityConfiguration(f);
  const { payload } = await verifyFederationJwt<Record<string, unknown>>(jwt, jwks, {
    typ: JWT_TYPES.trustMarkStatusResponse,
    now: f.clock.now,
  });
  assert.equal(payload.iss, TA);
  assert.equal(payload.trust_mark, trustMark);
  assert.equal(typeof payload.iat, 'number');
  return payload.status as string;
}

for (const target of targets) {
  describe(`federation authority endpoints: ${target.name}`, { skip: target.skip }, () => {
    let f: AuthorityFixture;
    before(async () => {
      f = await startAuthority(target);
      await f.addLeaf(LEAF, {
        entityTypes: ['openid_relying_party'],
        metadata: { openid_relying_party: { client_name: 'Partner RP' } },
        metadataPolicy: {
          openid_relying_party: {
            token_endpoint_auth_method: { one_of: ['private_key_jwt', 'tls_client_auth'] },
          },
        },
        constraints: { max_path_length: 0 },
      });
      await f.addLeaf(OTHER, { entityTypes: ['openid_provider'] });
      await f.addLeaf(MID, { isIntermediate: true });
    });
    after(async () => {
      await f?.close();
      await target.cleanup();
    });

    test('ok/Entity Configuration: typ, media type, iss = sub, own keys, every endpoint, trust_mark_issuers (§9, §3)', async () => {
      const { res, jwt, jwks } = await entityConfiguration(f);
      assert.equal(res.headers.get('content-type'), MEDIA_TYPES.entityStatement);
      assert.equal(decodeProtectedHeader(jwt).typ, 'entity-statement+jwt');
      const { header, payload } = await verifyEntityStatement(jwt, jwks, { now: f.clock.now });
      assert.ok(jwks.keys.some((k) => k.kid === header.kid));
      assert.equal(payload.iss, TA);
      assert.equal(payload.sub, TA);
      assert.equal(payload.exp - payload.iat, LIFETIME);
      assert.equal(payload.authority_hints, undefined, 'a Trust Anchor has no authority_hints');
      for (const key of jwks.keys) assert.equal((key as Record<string, unknown>).d, undefined);
      assert.deepEqual(payload.metadata?.federation_entity, {
        [ENDPOINT_PARAMETERS.fetch]: `${TA}/federation/fetch`,
        [ENDPOINT_PARAMETERS.list]: `${TA}/federation/list`,
        [ENDPOINT_PARAMETERS.trustMark]: `${TA}/federation/trust-mark`,
        [ENDPOINT_PARAMETERS.trustMarkStatus]: `${TA}/federation/trust-mark-status`,
        [ENDPOINT_PARAMETERS.trustMarkList]: `${TA}/federation/trust-mark-list`,
        [ENDPOINT_PARAMETERS.historicalKeys]: `${TA}/federation/historical-keys`,
      });
      assert.deepEqual(payload.trust_mark_issuers, { [TRUST_MARK_TYPE]: [TA] });
    });

    test('ok/fetch: a Subordinate Statement verifiable with the Entity Configuration keys (§8.1)', async () => {
      const res = await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), MEDIA_TYPES.entityStatement);
      const { jwks } = await entityConfiguration(f);
      const { payload } = await verifyEntityStatement(await res.text(), jwks, { now: f.clock.now });
      assert.equal(payload.iss, TA);
      assert.equal(payload.sub, LEAF);
      assert.equal(payload.source_endpoint, `${TA}/federation/fetch`);
      assert.equal(payload.jwks?.keys.length, 1);
      assert.deepEqual(payload.metadata, { openid_relying_party: { client_name: 'Partner RP' } });
      assert.deepEqual(payload.metadata_policy, {
        openid_relying_party: {
          token_endpoint_auth_method: { one_of: ['private_key_jwt', 'tls_client_auth'] },
        },
      });
      assert.deepEqual(payload.constraints, { max_path_length: 0 });
      assert.equal(payload.exp - payload.iat, LIFETIME);
    });

    test('ok/fetch: a leaf subordinate may vouch for no one below it (max_path_length 0); an Intermediate may (§6.2.1)', async () => {
      const { jwks } = await entityConfiguration(f);
      const statement = async (sub: string) => {
        const res = await f.get(`/federation/fetch?sub=${encodeURIComponent(sub)}`);
        return (await verifyEntityStatement(await res.text(), jwks, { now: f.clock.now })).payload;
      };
      assert.deepEqual((await statement(OTHER)).constraints, { max_path_length: 0 });
      assert.equal((await statement(MID)).constraints, undefined);
    });

    const badFetches: Array<[string, string, number, string]> = [
      ['fail/missing sub', '', 400, 'invalid_request'],
      [
        'fail/sub twice',
        `?sub=${encodeURIComponent(LEAF)}&sub=${encodeURIComponent(OTHER)}`,
        400,
        'invalid_request',
      ],
      ['fail/sub not a URL', '?sub=rp.partner.example', 400, 'invalid_request'],
      ['fail/sub over http', '?sub=http%3A%2F%2Frp.partner.example', 400, 'invalid_request'],
      ['fail/sub with a fragment', `?sub=${encodeURIComponent(`${LEAF}#x`)}`, 400, 'invalid_request'],
      ['fail/sub is the issuer itself', `?sub=${encodeURIComponent(TA)}`, 400, 'invalid_request'],
      ['fail/unknown sub', `?sub=${encodeURIComponent('https://unknown.example')}`, 404, 'not_found'],
    ];
    for (const [name, query, status, error] of badFetches) {
      test(`${name} → ${status} ${error} (§8.1.2, §8.9)`, async () => {
        const e = await errorOf(await f.get(`/federation/fetch${query}`));
        assert.equal(e.status, status);
        assert.equal(e.error, error);
      });
    }

    test('fail/POST at a GET endpoint is 405 with Allow, as a §8.9 error', async () => {
      const res = await fetch(`${f.base}/federation/fetch`, { method: 'POST', body: 'sub=x' });
      assert.equal(res.headers.get('allow'), 'GET');
      const e = await errorOf(res);
      assert.equal(e.status, 405);
      assert.equal(e.error, 'invalid_request');
    });

    test('ok/list: every active subordinate, filtered by entity_type and intermediate (§8.2)', async () => {
      const list = async (q: string) => {
        const res = await f.get(`/federation/list${q}`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        return (await res.json()) as string[];
      };
      assert.deepEqual(await list(''), [MID, OTHER, LEAF].sort());
      assert.deepEqual(await list('?entity_type=openid_relying_party'), [LEAF]);
      assert.deepEqual(
        await list('?entity_type=openid_relying_party&entity_type=openid_provider'),
        [OTHER, LEAF].sort(),
      );
      assert.deepEqual(await list('?intermediate=true'), [MID]);
      assert.deepEqual(await list('?intermediate=false'), [OTHER, LEAF].sort());
      assert.deepEqual(
        await list('?unknown_parameter=ignored'),
        [MID, OTHER, LEAF].sort(),
        '§8: not understood → ignored',
      );
      const e = await errorOf(await f.get('/federation/list?trust_marked=yes'));
      assert.equal(e.status, 400);
      assert.equal(e.error, 'invalid_request');
    });

    test('ok/trust marks: endpoint, listing, trust_marked filter and status active → revoked (§8.4–§8.6)', async () => {
      const mark = await f.storage.transaction((tx) =>
        issueTrustMark(tx, { trustMarkType: TRUST_MARK_TYPE, sub: LEAF }, f.authority.trustMarkTypes, {
          ...META,
          now: f.clock.now,
        }),
      );
      const res = await f.get(
        `/federation/trust-mark?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}&sub=${encodeURIComponent(LEAF)}`,
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), MEDIA_TYPES.trustMark);
      const jwt = await res.text();
      const { jwks } = await entityConfiguration(f);
      const { protectedHeader } = await compactVerify(jwt, createLocalJWKSet(jwks));
      assert.equal(protectedHeader.typ, 'trust-mark+jwt');
      assert.ok(protectedHeader.kid);
      const claims = decodeJwt(jwt);
      assert.equal(claims.iss, TA);
      assert.equal(claims.sub, LEAF);
      assert.equal(claims.trust_mark_type, TRUST_MARK_TYPE);
      assert.equal(claims.iat, mark.iat);
      assert.equal(claims.exp, undefined, 'issued without expiry');

      const listed = await f.get(
        `/federation/trust-mark-list?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}`,
      );
      assert.deepEqual(await listed.json(), [LEAF]);
      const bySub = await f.get(
        `/federation/trust-mark-list?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}&sub=${encodeURIComponent(OTHER)}`,
      );
      assert.deepEqual(await bySub.json(), []);
      assert.deepEqual(await (await f.get('/federation/list?trust_marked=true')).json(), [LEAF]);
      assert.deepEqual(
        await (await f.get(`/federation/list?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}`)).json(),
        [LEAF],
      );

      assert.equal(await statusOf(f, jwt), 'active');
      await f.storage.transaction((tx) => revokeTrustMark(tx, mark.id, { ...META, now: f.clock.now }));
      assert.equal(await statusOf(f, jwt), 'revoked');
      const gone = await errorOf(
        await f.get(
          `/federation/trust-mark?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}&sub=${encodeURIComponent(LEAF)}`,
        ),
      );
      assert.equal(gone.status, 404);
      assert.deepEqual(await (await f.get('/federation/list?trust_marked=true')).json(), []);
    });

    test('ok/trust mark status expired once exp has passed (§8.4.2)', async () => {
      const mark = await f.storage.transaction((tx) =>
        issueTrustMark(
          tx,
          { trustMarkType: TRUST_MARK_TYPE, sub: OTHER, expiresIn: 600 },
          f.authority.trustMarkTypes,
          {
            ...META,
            now: f.clock.now,
          },
        ),
      );
      const res = await f.get(
        `/federation/trust-mark?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}&sub=${encodeURIComponent(OTHER)}`,
      );
      const jwt = await res.text();
      assert.equal(decodeJwt(jwt).exp, mark.iat + 600);
      assert.equal(await statusOf(f, jwt), 'active');
      const saved = f.clock.now;
      f.clock.now = new Date(saved.getTime() + 601_000);
      try {
        assert.equal(await statusOf(f, jwt), 'expired');
        const listed = await f.get(
          `/federation/trust-mark-list?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}`,
        );
        assert.deepEqual(await listed.json(), [], 'an expired mark is not listed');
      } finally {
        f.clock.now = saved;
      }
    });

    test('fail/trust mark status: forged, foreign, unknown and malformed marks (§8.4.2)', async () => {
      const forger = await entityKey();
      const forged = await new SignJWT({
        iss: TA,
        sub: LEAF,
        trust_mark_type: TRUST_MARK_TYPE,
        iat: 1,
        jti: 'x',
      })
        .setProtectedHeader({ alg: 'ES256', kid: forger.publicJwk.kid!, typ: 'trust-mark+jwt' })
        .sign(forger.privateKey);
      assert.equal(await statusOf(f, forged), 'invalid', 'signature validation failed');
      const foreign = await new SignJWT({
        iss: 'https://other-ta.example',
        sub: LEAF,
        trust_mark_type: 'x',
        iat: 1,
      })
        .setProtectedHeader({ alg: 'ES256', kid: forger.publicJwk.kid!, typ: 'trust-mark+jwt' })
        .sign(forger.privateKey);
      const notOurs = await errorOf(await statusRequest(f, foreign));
      assert.equal(notOurs.status, 404, 'something it did not issue → 404');
      const malformed = await errorOf(await statusRequest(f, 'not-a-jwt'));
      assert.equal(malformed.status, 400);
      assert.equal(malformed.error, 'invalid_request');
      const missing = await errorOf(
        await fetch(`${f.base}/federation/trust-mark-status`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        }),
      );
      assert.equal(missing.status, 400);
      const json = await errorOf(
        await fetch(`${f.base}/federation/trust-mark-status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ trust_mark: forged }),
        }),
      );
      assert.equal(json.status, 400, 'the request is a form, not JSON');
      const get = await fetch(`${f.base}/federation/trust-mark-status?trust_mark=${forged}`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
    });

    test('fail/trust mark endpoints: unknown type → 404, missing parameters → 400 (§8.5, §8.6)', async () => {
      const cases: Array<[string, number, string]> = [
        [`/federation/trust-mark?sub=${encodeURIComponent(LEAF)}`, 400, 'invalid_request'],
        [
          `/federation/trust-mark?trust_mark_type=${encodeURIComponent(TRUST_MARK_TYPE)}`,
          400,
          'invalid_request',
        ],
        [
          `/federation/trust-mark?trust_mark_type=${encodeURIComponent('https://x.example/tm')}&sub=${encodeURIComponent(LEAF)}`,
          404,
          'not_found',
        ],
        ['/federation/trust-mark-list', 400, 'invalid_request'],
        [
          `/federation/trust-mark-list?trust_mark_type=${encodeURIComponent('https://x.example/tm')}`,
          404,
          'not_found',
        ],
      ];
      for (const [path, status, error] of cases) {
        const e = await errorOf(await f.get(path));
        assert.equal(e.status, status, path);
        assert.equal(e.error, error, path);
      }
    });

    test('fail/a removed subordinate or one of a suspended organisation is not_found at fetch and not listed', async () => {
      const removed = 'https://removed.partner.example';
      await f.addLeaf(removed);
      assert.equal((await f.get(`/federation/fetch?sub=${encodeURIComponent(removed)}`)).status, 200);
      await f.storage.transaction((tx) => removeSubordinate(tx, removed, { ...META, now: f.clock.now }));
      const e = await errorOf(await f.get(`/federation/fetch?sub=${encodeURIComponent(removed)}`));
      assert.equal(e.status, 404);
      assert.equal(e.error, 'not_found');
      assert.ok(!((await (await f.get('/federation/list')).json()) as string[]).includes(removed));

      await f.storage.transaction((tx) => setOrganisationStatus(tx, f.orgId, 'suspended', META));
      try {
        assert.equal((await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`)).status, 404);
        assert.deepEqual(await (await f.get('/federation/list')).json(), []);
      } finally {
        await f.storage.transaction((tx) => setOrganisationStatus(tx, f.orgId, 'active', META));
      }
      assert.equal((await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`)).status, 200);
    });

    test('ok/historical keys: a signed JWK Set (typ jwk-set+jwt), empty before any rotation (§8.7)', async () => {
      const res = await f.get('/federation/historical-keys');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), MEDIA_TYPES.jwkSet);
      const { jwks } = await entityConfiguration(f);
      const { payload } = await verifyFederationJwt<{
        iss: string;
        iat: number;
        exp: number;
        keys: unknown[];
      }>(await res.text(), jwks, {
        typ: JWT_TYPES.jwkSet,
        now: f.clock.now,
      });
      assert.equal(payload.iss, TA);
      assert.deepEqual(payload.keys, []);
    });

    test('fail/the resolve endpoint is neither served nor advertised without a resolver', async () => {
      const e = await f.get(
        `/federation/resolve?sub=${encodeURIComponent(LEAF)}&trust_anchor=${encodeURIComponent(TA)}`,
      );
      assert.equal(e.status, 404);
      const { claims } = await entityConfiguration(f);
      const fe = (claims.metadata as Record<string, Record<string, unknown>>).federation_entity!;
      assert.equal(fe[ENDPOINT_PARAMETERS.resolve], undefined);
    });
  });
}

describe('federation authority under an Entity Identifier with a path', { skip: targets[0]?.skip }, () => {
  test('ok/§9: the configuration and endpoints live below the path; a trailing slash is dropped before appending', async () => {
    const f = await startAuthority(targets[0]!, { entityId: 'https://ta.example/fed/' });
    try {
      assert.match(f.base, /\/fed$/);
      const { claims } = await entityConfiguration(f);
      assert.equal(claims.iss, 'https://ta.example/fed/');
      const fe = (claims.metadata as Record<string, Record<string, unknown>>).federation_entity!;
      assert.equal(fe[ENDPOINT_PARAMETERS.fetch], 'https://ta.example/fed/federation/fetch');
      await f.addLeaf(LEAF);
      assert.equal((await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`)).status, 200);
      const root = await fetch(`${f.base.replace(/\/fed$/, '')}/.well-known/openid-federation`);
      assert.equal(root.status, 404, 'nothing at the root');
    } finally {
      await f.close();
      await targets[0]!.cleanup();
    }
  });
});
