import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JWT_TYPES, MEDIA_TYPES } from '../../src/federation/index.ts';
import type { ResolveResult } from '../../src/federation/types.ts';
import { assertFinding, assertOk, fetchChain, hits, resolverFactory } from './support/resolver.ts';
import {
  createTestKey,
  startTopology,
  type TestEntity,
  type Topology,
  threeLevels,
} from './support/topology.ts';

const TYPE = 'https://federation.example.org/trust-marks/member';

let topology: Topology;
let resolvers: ReturnType<typeof resolverFactory>;

before(async () => {
  topology = await startTopology();
  resolvers = resolverFactory(topology);
});

after(async () => {
  await resolvers.close();
  await topology.close();
});

const now = () => topology.clock.seconds();

/** Three levels plus a Trust Mark Issuer directly under the trust anchor, accepted for TYPE. */
async function federation() {
  const t = await threeLevels(topology);
  const tmi = await topology.addEntity('tmi');
  tmi.metadata.federation_entity = { organization_name: 'Trust Mark Issuer' };
  t.ta.addSubordinate(tmi);
  t.ta.configuration.trust_mark_issuers = { [TYPE]: [tmi.entityId] };
  return { ...t, tmi };
}

async function markLeaf(issuer: TestEntity, leaf: TestEntity, claims?: Record<string, unknown>, type = TYPE) {
  const jwt = await issuer.issueTrustMark(leaf, type, claims);
  leaf.addTrustMark(type, jwt);
  return jwt;
}

function droppedWith(result: ResolveResult, code: string, step?: RegExp) {
  assertFinding(result, code, step, true);
  assertOk(result);
  assert.deepEqual(result.entity.trustMarks, []);
}

describe('trust marks (§7)', () => {
  it('ok/a Trust Mark from an accepted issuer, status active (§7.3, §8.4)', async () => {
    const f = await federation();
    const jwt = await markLeaf(f.tmi, f.leaf);
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.deepEqual(result.findings, []);
    assert.equal(result.entity.trustMarks.length, 1);
    const [mark] = result.entity.trustMarks;
    assert.equal(mark!.trust_mark, jwt);
    assert.equal(mark!.trust_mark_type, TYPE);
    assert.equal(mark!.iss, f.tmi.entityId);
    assert.equal(mark!.sub, f.leaf.entityId);
    assert.equal(mark!.exp, now() + 86_400 - 0);
    assert.equal(hits(f.tmi, '/status'), 1);
  });

  it('ok/issued by the trust anchor itself', async () => {
    const f = await federation();
    f.ta.configuration.trust_mark_issuers = { [TYPE]: [f.ta.entityId] };
    await markLeaf(f.ta, f.leaf);
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks[0]?.iss, f.ta.entityId);
  });

  it('ok/an empty issuer list lets anyone issue, even the entity itself (§3.1.2)', async () => {
    const f = await federation();
    f.ta.configuration.trust_mark_issuers = { [TYPE]: [] };
    await markLeaf(f.leaf, f.leaf);
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks[0]?.iss, f.leaf.entityId);
  });

  it('ok/a Trust Mark without exp does not expire (§7.1)', async () => {
    const f = await federation();
    await markLeaf(f.tmi, f.leaf, { exp: undefined });
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks[0]?.exp, undefined);
  });

  it('ok/a mark also carrying the pre-final id, in the JWT and its entry, is accepted (§7.1 additional claims)', async () => {
    const f = await federation();
    const jwt = await f.tmi.issueTrustMark(f.leaf, TYPE, { id: TYPE });
    f.leaf.configuration.trust_marks = [{ trust_mark_type: TYPE, id: TYPE, trust_mark: jwt }];
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.deepEqual(result.findings, []);
    assert.equal(result.entity.trustMarks[0]?.trust_mark_type, TYPE);
  });

  // trust_mark_type is REQUIRED in the mark (§7.1) and in its entry (§3.1.2); `id` is never read in its place.
  const preFinal: Array<{ name: string; entry: (jwt: string) => Record<string, unknown> }> = [
    { name: 'a final-form entry', entry: (jwt) => ({ trust_mark_type: TYPE, trust_mark: jwt }) },
    { name: 'a pre-final entry', entry: (jwt) => ({ id: TYPE, trust_mark: jwt }) },
  ];
  for (const c of preFinal) {
    it(`fail/a pre-final mark (id, no trust_mark_type) in ${c.name} makes the Entity Configuration invalid (§3.2)`, async () => {
      const f = await federation();
      const jwt = await f.tmi.issueTrustMark(f.leaf, TYPE, { trust_mark_type: undefined, id: TYPE });
      f.leaf.configuration.trust_marks = [c.entry(jwt)];
      assertFinding(await resolvers.create([f.anchor]).resolve(f.leaf.entityId), 'invalid_claim');
    });
  }

  it('ok/without a status endpoint, the local validation decides (§7.3)', async () => {
    const f = await federation();
    await markLeaf(f.tmi, f.leaf);
    f.tmi.trustMarkStatus.clear(); // no status endpoint published any more
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
    assert.equal(hits(f.tmi, '/status'), 0);
  });

  it('ok/a delegated Trust Mark with a valid delegation from the owner named by the trust anchor (§7.2)', async () => {
    const f = await federation();
    const owner = await createTestKey('owner-1');
    const ownerId = 'https://owner.example.org';
    f.ta.configuration.trust_mark_owners = { [TYPE]: { sub: ownerId, jwks: { keys: [owner.publicJwk] } } };
    const delegation = await f.tmi.sign(
      { iss: ownerId, sub: f.tmi.entityId, trust_mark_type: TYPE, iat: now() - 60 },
      JWT_TYPES.trustMarkDelegation,
      { key: owner },
    );
    await markLeaf(f.tmi, f.leaf, { delegation });
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
  });

  it('ok/validateChain evaluates the Trust Marks of a supplied chain too', async () => {
    const f = await federation();
    await markLeaf(f.tmi, f.leaf);
    const chain = await fetchChain(resolvers.fetcher(), [f.leaf, f.intermediate, f.ta]);
    const result = await resolvers.create([f.anchor]).validateChain(chain);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
  });

  it('ok/an issuer shared by several marks is resolved once', async () => {
    const f = await federation();
    const OTHER = `${TYPE}/2`;
    f.ta.configuration.trust_mark_issuers = { [TYPE]: [f.tmi.entityId], [OTHER]: [f.tmi.entityId] };
    await markLeaf(f.tmi, f.leaf);
    await markLeaf(f.tmi, f.leaf, {}, OTHER);
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 2);
    assert.equal(hits(f.tmi, '/.well-known/openid-federation'), 1);
  });

  type Fed = Awaited<ReturnType<typeof federation>>;
  const dropped: Array<{ name: string; setup: (f: Fed) => Promise<void>; code: string; step?: RegExp }> = [
    {
      name: 'expired',
      setup: async (f) => {
        await markLeaf(f.tmi, f.leaf, { iat: now() - 7200, exp: now() - 3600 });
      },
      code: 'trust_mark_expired',
      step: /§7\.3 step 6/,
    },
    {
      name: 'issued in the future',
      setup: async (f) => {
        await markLeaf(f.tmi, f.leaf, { iat: now() + 3600 });
      },
      code: 'trust_mark_issued_in_future',
      step: /§7\.3 step 5/,
    },
    {
      name: 'issuer not accepted by the trust anchor for the type',
      setup: async (f) => {
        f.ta.configuration.trust_mark_issuers = { [TYPE]: [f.intermediate.entityId] };
        await markLeaf(f.tmi, f.leaf);
      },
      code: 'trust_mark_issuer_not_authorised',
    },
    {
      name: 'type not listed by the trust anchor',
      setup: async (f) => {
        f.ta.configuration.trust_mark_issuers = undefined;
        await markLeaf(f.tmi, f.leaf);
      },
      code: 'trust_mark_issuer_not_authorised',
    },
    {
      name: 'revoked at the status endpoint',
      setup: async (f) => {
        const jwt = await markLeaf(f.tmi, f.leaf);
        f.tmi.trustMarkStatus.set(jwt, 'revoked');
      },
      code: 'trust_mark_revoked',
      step: /§8\.4/,
    },
    {
      name: 'unknown to its issuer (status 404)',
      setup: async (f) => {
        const jwt = await markLeaf(f.tmi, f.leaf);
        f.tmi.trustMarkStatus.delete(jwt);
        f.tmi.trustMarkStatus.set('another', 'active');
      },
      code: 'trust_mark_unknown',
    },
    {
      name: 'status response signed with a key that is not the issuer’s',
      setup: async (f) => {
        await markLeaf(f.tmi, f.leaf);
        const rogue = await createTestKey(f.tmi.signingKey.kid);
        f.tmi.routes.set('/status', async (_req, res, body) => {
          const trustMark = new URLSearchParams(body).get('trust_mark');
          const jwt = await f.tmi.sign(
            { iss: f.tmi.entityId, iat: now(), trust_mark: trustMark, status: 'active' },
            JWT_TYPES.trustMarkStatusResponse,
            { key: rogue },
          );
          res.writeHead(200, { 'content-type': MEDIA_TYPES.trustMarkStatusResponse });
          res.end(jwt);
        });
      },
      code: 'trust_mark_status_invalid',
    },
    {
      name: 'status endpoint unreachable (fail closed)',
      setup: async (f) => {
        await markLeaf(f.tmi, f.leaf);
        f.tmi.routes.set('/status', (_req, res) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"server_error"}');
        });
      },
      code: 'trust_mark_status_unavailable',
    },
    {
      name: 'about another entity (wrong sub)',
      setup: async (f) => {
        const jwt = await f.tmi.issueTrustMark(f.intermediate, TYPE);
        f.leaf.addTrustMark(TYPE, jwt);
      },
      code: 'trust_mark_wrong_subject',
      step: /§7\.3 step 4/,
    },
    {
      name: 'typ is not trust-mark+jwt',
      setup: async (f) => {
        const jwt = await f.tmi.sign(
          { iss: f.tmi.entityId, sub: f.leaf.entityId, trust_mark_type: TYPE, iat: now() },
          'JWT',
        );
        f.leaf.addTrustMark(TYPE, jwt);
      },
      code: 'trust_mark_unsupported_typ',
      step: /§7\.3 step 2/,
    },
    {
      name: 'alg none',
      setup: async (f) => {
        const jwt = await f.tmi.sign(
          { iss: f.tmi.entityId, sub: f.leaf.entityId, trust_mark_type: TYPE, iat: now() },
          JWT_TYPES.trustMark,
          { unsigned: true },
        );
        f.leaf.addTrustMark(TYPE, jwt);
      },
      code: 'trust_mark_unsupported_alg',
    },
    {
      name: 'signed with a key the issuer does not publish',
      setup: async (f) => {
        const jwt = await f.tmi.issueTrustMark(
          f.leaf,
          TYPE,
          {},
          { key: await createTestKey(f.tmi.signingKey.kid) },
        );
        f.leaf.addTrustMark(TYPE, jwt);
      },
      code: 'trust_mark_bad_signature',
      step: /§7\.3 step 7/,
    },
    {
      name: 'issuer without a Trust Chain to the trust anchor',
      setup: async (f) => {
        f.ta.subordinates.delete(f.tmi.entityId);
        await markLeaf(f.tmi, f.leaf);
      },
      code: 'trust_mark_issuer_untrusted',
      step: /§7\.3/,
    },
    {
      name: 'the trust anchor names an owner and the delegation is missing',
      setup: async (f) => {
        const owner = await createTestKey('owner-1');
        f.ta.configuration.trust_mark_owners = {
          [TYPE]: { sub: 'https://owner.example.org', jwks: { keys: [owner.publicJwk] } },
        };
        await markLeaf(f.tmi, f.leaf);
      },
      code: 'trust_mark_delegation_required',
      step: /§7\.3 step 8/,
    },
    {
      name: 'delegation not signed by the owner',
      setup: async (f) => {
        const owner = await createTestKey('owner-1');
        const ownerId = 'https://owner.example.org';
        f.ta.configuration.trust_mark_owners = {
          [TYPE]: { sub: ownerId, jwks: { keys: [owner.publicJwk] } },
        };
        const delegation = await f.tmi.sign(
          { iss: ownerId, sub: f.tmi.entityId, trust_mark_type: TYPE, iat: now() },
          JWT_TYPES.trustMarkDelegation,
          { key: await createTestKey('owner-1') },
        );
        await markLeaf(f.tmi, f.leaf, { delegation });
      },
      code: 'trust_mark_delegation_invalid',
      step: /§7\.2\.2 step 9/,
    },
    {
      name: 'a delegation while the trust anchor names no owner for the type',
      setup: async (f) => {
        // Well-formed and signed by the key it names: only the missing owner makes it unverifiable.
        const owner = await createTestKey('owner-1');
        const delegation = await f.tmi.sign(
          { iss: 'https://owner.example.org', sub: f.tmi.entityId, trust_mark_type: TYPE, iat: now() },
          JWT_TYPES.trustMarkDelegation,
          { key: owner },
        );
        await markLeaf(f.tmi, f.leaf, { delegation });
      },
      code: 'trust_mark_delegation_invalid',
      step: /§7\.3 step 9/,
    },
    {
      name: 'delegation to another issuer',
      setup: async (f) => {
        const owner = await createTestKey('owner-1');
        const ownerId = 'https://owner.example.org';
        f.ta.configuration.trust_mark_owners = {
          [TYPE]: { sub: ownerId, jwks: { keys: [owner.publicJwk] } },
        };
        const delegation = await f.tmi.sign(
          { iss: ownerId, sub: f.intermediate.entityId, trust_mark_type: TYPE, iat: now() },
          JWT_TYPES.trustMarkDelegation,
          { key: owner },
        );
        await markLeaf(f.tmi, f.leaf, { delegation });
      },
      code: 'trust_mark_delegation_invalid',
      step: /§7\.2\.2 step 4/,
    },
  ];
  for (const c of dropped) {
    it(`fail/${c.name} → dropped with ${c.code}; the chain stays valid`, async () => {
      const f = await federation();
      await c.setup(f);
      droppedWith(await resolvers.create([f.anchor]).resolve(f.leaf.entityId), c.code, c.step);
    });
  }

  it('fail/a valid mark is kept while an invalid one next to it is dropped', async () => {
    const f = await federation();
    await markLeaf(f.tmi, f.leaf);
    const revoked = await markLeaf(f.tmi, f.leaf, { iat: now() - 61 });
    f.tmi.trustMarkStatus.set(revoked, 'revoked');
    const result = await resolvers.create([f.anchor]).resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
    assertFinding(result, 'trust_mark_revoked', undefined, true);
  });

  it('fail/an entry whose trust_mark_type differs from its JWT makes the Entity Configuration invalid (§3.2 step 20)', async () => {
    const f = await federation();
    const jwt = await f.tmi.issueTrustMark(f.leaf, TYPE);
    f.leaf.addTrustMark(`${TYPE}/other`, jwt);
    assertFinding(await resolvers.create([f.anchor]).resolve(f.leaf.entityId), 'invalid_claim');
  });

  it('ok/the cached chain expires no later than its Trust Marks', async () => {
    const f = await federation();
    await markLeaf(f.tmi, f.leaf, { exp: now() + 300 });
    const resolver = resolvers.create([f.anchor]);
    assertOk(await resolver.resolve(f.leaf.entityId));
    topology.clock.advance(200);
    assertOk(await resolver.resolve(f.leaf.entityId));
    assert.equal(hits(f.tmi, '/status'), 1);
    topology.clock.advance(200);
    droppedWith(await resolver.resolve(f.leaf.entityId), 'trust_mark_expired');
  });

  it('ok/status checks can be turned off', async () => {
    const f = await federation();
    const jwt = await markLeaf(f.tmi, f.leaf);
    f.tmi.trustMarkStatus.set(jwt, 'revoked');
    const result = await resolvers
      .create([f.anchor], { checkTrustMarkStatus: false })
      .resolve(f.leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
  });
});
