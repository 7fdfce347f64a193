import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { JWT_TYPES } from '../../src/federation/index.ts';
import { assertFinding, assertOk, fetchChain, resolverFactory, totalHits } from './support/resolver.ts';
import {
  createTestKey,
  jwksOf,
  startTopology,
  type TestEntity,
  type Topology,
  threeLevels,
} from './support/topology.ts';

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
const subordinate = (superior: TestEntity, sub: TestEntity) => superior.subordinates.get(sub.entityId)!;

describe('resolve: happy paths (§10)', () => {
  it('ok/three levels: leaf → intermediate → trust anchor', async () => {
    const { ta, intermediate, leaf, anchor } = await threeLevels(topology);
    const result = await resolvers.create([anchor]).resolve(leaf.entityId);
    assertOk(result);
    const { entity } = result;
    assert.equal(entity.entityId, leaf.entityId);
    assert.equal(entity.trustAnchor, ta.entityId);
    assert.equal(entity.trustChain.length, 4);
    assert.deepEqual(
      entity.statements.map((s) => [s.iss, s.sub]),
      [
        [leaf.entityId, leaf.entityId],
        [intermediate.entityId, leaf.entityId],
        [ta.entityId, intermediate.entityId],
        [ta.entityId, ta.entityId],
      ],
    );
    assert.equal(entity.expiresAt, Math.min(...entity.statements.map((s) => s.exp)));
    assert.deepEqual(entity.metadata.openid_relying_party, leaf.metadata.openid_relying_party);
    assert.deepEqual(entity.trustMarks, []);
    assert.deepEqual(result.findings, []);
  });

  it('ok/two levels: leaf directly under the trust anchor', async () => {
    const ta = await topology.addEntity('ta');
    const leaf = await topology.addEntity('leaf');
    leaf.metadata.oauth_client = { client_name: 'two' };
    ta.addSubordinate(leaf);
    const result = await resolvers
      .create([{ entityId: ta.entityId, jwks: ta.jwks() }])
      .resolve(leaf.entityId);
    assertOk(result);
    assert.equal(result.entity.trustChain.length, 3);
    assert.deepEqual(result.entity.metadata, { oauth_client: { client_name: 'two' } });
  });

  it('ok/the trust anchor itself resolves to a chain of its own Entity Configuration', async () => {
    const { ta, anchor } = await threeLevels(topology);
    const result = await resolvers.create([anchor]).resolve(ta.entityId);
    assertOk(result);
    assert.equal(result.entity.trustChain.length, 1);
  });

  it('ok/superior metadata then the combined policy apply, TA first (§6.1.4, §3.1.1)', async () => {
    const { ta, intermediate, leaf, anchor } = await threeLevels(topology);
    subordinate(ta, intermediate).claims = {
      metadata_policy: {
        openid_relying_party: {
          contacts: { add: ['helpdesk@federation.example.org'] },
          token_endpoint_auth_method: {
            one_of: ['private_key_jwt', 'self_signed_tls_client_auth'],
            essential: true,
          },
          subject_type: { value: 'pairwise' },
        },
      },
    };
    subordinate(intermediate, leaf).claims = {
      metadata: {
        openid_relying_party: { policy_uri: 'https://org.example.org/policy.html' },
        // Not an Entity Type of the leaf: ignored (§3.1.1).
        openid_provider: { issuer: 'https://op.example.org' },
      },
      metadata_policy: { openid_relying_party: { contacts: { add: ['helpdesk@org.example.org'] } } },
    };
    const result = await resolvers.create([anchor]).resolve(leaf.entityId);
    assertOk(result);
    assert.deepEqual(result.entity.metadata, {
      openid_relying_party: {
        client_name: 'Leaf RP',
        redirect_uris: ['https://rp.example.org/callback'],
        token_endpoint_auth_method: 'private_key_jwt',
        policy_uri: 'https://org.example.org/policy.html',
        subject_type: 'pairwise',
        contacts: ['helpdesk@federation.example.org', 'helpdesk@org.example.org'],
      },
    });
  });

  it('ok/entityType resolves and returns only that Entity Type', async () => {
    const { leaf, anchor } = await threeLevels(topology);
    leaf.metadata.oauth_client = { client_name: 'client' };
    const result = await resolvers.create([anchor]).resolve(leaf.entityId, { entityType: 'oauth_client' });
    assertOk(result);
    assert.deepEqual(Object.keys(result.entity.metadata), ['oauth_client']);
  });

  it('ok/with two superiors, a broken path is a finding and the other one is used', async () => {
    const { leaf, anchor } = await threeLevels(topology);
    const broken = await topology.addEntity('broken');
    leaf.authorityHints.unshift(broken.entityId); // tried first; it has no fetch endpoint
    broken.authorityHints.push(anchor.entityId);
    const result = await resolvers.create([anchor]).resolve(leaf.entityId);
    assertOk(result);
    assert.ok(
      result.findings.some((f) => f.code === 'missing_fetch_endpoint' && f.entityId === broken.entityId),
    );
  });

  it('ok/the shortest chain wins, and a requested trust anchor restricts the search (§10.3)', async () => {
    const { ta, intermediate, leaf, anchor } = await threeLevels(topology);
    const other = await topology.addEntity('other-ta');
    other.addSubordinate(leaf);
    const otherAnchor = { entityId: other.entityId, jwks: other.jwks() };
    const resolver = resolvers.create([anchor, otherAnchor]);
    const shortest = await resolver.resolve(leaf.entityId);
    assertOk(shortest);
    assert.equal(shortest.entity.trustAnchor, other.entityId);
    const requested = await resolver.resolve(leaf.entityId, { trustAnchor: ta.entityId });
    assertOk(requested);
    assert.equal(requested.entity.trustAnchor, ta.entityId);
    assert.equal(requested.entity.statements[1]!.iss, intermediate.entityId);
  });

  it('ok/an authority hint leading back into the path is a loop and is not used (§10.1)', async () => {
    const { intermediate, leaf, anchor } = await threeLevels(topology);
    intermediate.authorityHints.unshift(leaf.entityId);
    leaf.addSubordinate(intermediate);
    const result = await resolvers.create([anchor]).resolve(leaf.entityId);
    assertFinding(result, 'authority_loop', /§10\.1/, true);
  });
});

describe('resolve: fail/… and ok/… tables (§3.2, §10.2, §6)', () => {
  type Topo = Awaited<ReturnType<typeof threeLevels>>;
  type Case = {
    name: string;
    setup: (t: Topo) => void | Promise<void>;
    code: string;
    step?: RegExp;
    entityType?: string;
    maxChainLength?: number;
  };
  const failures: Case[] = [
    {
      name: 'expired leaf Entity Configuration',
      setup: ({ leaf }) => {
        leaf.configuration.exp = now() - 120;
      },
      code: 'expired',
      step: /§3\.2 step 8/,
    },
    {
      name: 'expired Subordinate Statement',
      setup: ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).claims = { exp: now() - 120 };
      },
      code: 'expired',
    },
    {
      name: 'iat in the future',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = { iat: now() + 3600, exp: now() + 7200 };
      },
      code: 'issued_in_future',
      step: /§3\.2 step 7/,
    },
    {
      name: 'wrong signing key under a published kid',
      setup: async ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).sign = { key: await createTestKey(intermediate.signingKey.kid) };
      },
      code: 'bad_signature',
      step: /§3\.2 step 12/,
    },
    {
      name: 'signing key not published (unknown kid)',
      setup: async ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).sign = { key: await createTestKey('rogue') };
      },
      code: 'unknown_kid',
      step: /§3\.2 step 11/,
    },
    {
      name: 'typ is not entity-statement+jwt',
      setup: ({ leaf }) => {
        leaf.configurationSign = { header: { typ: 'JWT' } };
      },
      code: 'unsupported_typ',
      step: /§3\.2 step 2/,
    },
    {
      name: 'alg none',
      setup: ({ leaf }) => {
        leaf.configurationSign = { unsigned: true };
      },
      code: 'unsupported_alg',
      step: /§3\.2 step 3/,
    },
    {
      name: 'missing kid',
      setup: ({ intermediate }) => {
        intermediate.configurationSign = { header: { kid: undefined } };
      },
      code: 'missing_kid',
    },
    {
      name: 'Subordinate Statement about another subject',
      setup: ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).claims = { sub: 'https://someone-else.example' };
      },
      code: 'subject_mismatch',
      step: /§3\.2 step 4/,
    },
    {
      name: 'Entity Configuration issued by someone else',
      setup: ({ leaf, intermediate }) => {
        leaf.configuration.iss = intermediate.entityId;
        leaf.configuration.authority_hints = undefined;
      },
      code: 'subject_mismatch',
    },
    {
      name: 'subordinate removed: fetch endpoint answers 404 not_found',
      setup: async ({ intermediate, leaf }) => {
        intermediate.addSubordinate(await topology.addEntity('sibling'));
        intermediate.subordinates.delete(leaf.entityId);
      },
      code: 'not_found',
      step: /§8\.1/,
    },
    {
      name: 'superior without a fetch endpoint',
      setup: ({ intermediate, leaf }) => {
        intermediate.subordinates.delete(leaf.entityId);
      },
      code: 'missing_fetch_endpoint',
    },
    {
      name: 'authority loop with no way out',
      setup: ({ intermediate, leaf }) => {
        intermediate.authorityHints.splice(0, 1, leaf.entityId);
        leaf.addSubordinate(intermediate);
      },
      code: 'authority_loop',
    },
    {
      name: 'chain longer than maxChainLength',
      setup: () => {},
      maxChainLength: 3,
      code: 'max_chain_length',
    },
    {
      name: 'max_path_length 0 above one intermediate',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = { constraints: { max_path_length: 0 } };
      },
      code: 'max_path_length_exceeded',
      step: /§6\.2\.1/,
    },
    {
      name: 'naming_constraints exclude the leaf host',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = {
          constraints: { naming_constraints: { excluded: ['127.0.0.1'] } },
        };
      },
      code: 'naming_constraint_excluded',
      step: /§6\.2\.2/,
    },
    {
      name: 'naming_constraints do not permit the host',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = {
          constraints: { naming_constraints: { permitted: ['.example.com'] } },
        };
      },
      code: 'naming_constraint_not_permitted',
    },
    {
      name: 'allowed_entity_types removes the requested Entity Type',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = { constraints: { allowed_entity_types: ['openid_provider'] } };
      },
      entityType: 'openid_relying_party',
      code: 'entity_type_not_allowed',
      step: /§6\.2\.3/,
    },
    {
      name: 'requested Entity Type absent',
      setup: () => {},
      entityType: 'openid_provider',
      code: 'entity_type_not_found',
    },
    {
      name: 'unknown critical claim',
      setup: ({ leaf }) => {
        leaf.configuration.crit = ['jti'];
        leaf.configuration.jti = 'abc';
      },
      code: 'unsupported_crit',
      step: /§3\.2 step 13/,
    },
    {
      name: 'unknown critical metadata policy operator',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = {
          metadata_policy: { openid_relying_party: { client_name: { regexp: '^Leaf' } } },
          metadata_policy_crit: ['regexp'],
        };
      },
      code: 'unsupported_policy_operator',
      step: /§3\.2 step 18/,
    },
    {
      name: 'metadata outside one_of',
      setup: ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).claims = {
          metadata_policy: {
            openid_relying_party: { token_endpoint_auth_method: { one_of: ['tls_client_auth'] } },
          },
        };
      },
      code: 'invalid_metadata',
      step: /§6\.1\.3\.1\.4/,
    },
    {
      name: 'superior and subordinate policies conflict',
      setup: ({ ta, intermediate, leaf }) => {
        subordinate(ta, intermediate).claims = {
          metadata_policy: { openid_relying_party: { client_name: { value: 'A' } } },
        };
        subordinate(intermediate, leaf).claims = {
          metadata_policy: { openid_relying_party: { client_name: { value: 'B' } } },
        };
      },
      code: 'invalid_policy',
    },
    {
      name: 'constraints in an Entity Configuration',
      setup: ({ leaf }) => {
        leaf.configuration.constraints = { max_path_length: 1 };
      },
      code: 'invalid_claim',
    },
  ];
  for (const c of failures) {
    it(`fail/${c.name} → ${c.code}`, async () => {
      const t = await threeLevels(topology);
      await c.setup(t);
      const resolver = resolvers.create(
        [t.anchor],
        c.maxChainLength ? { maxChainLength: c.maxChainLength } : {},
      );
      const result = await resolver.resolve(
        t.leaf.entityId,
        c.entityType ? { entityType: c.entityType } : {},
      );
      assertFinding(result, c.code, c.step);
      assert.equal(result.findings.at(-1)?.code, 'no_trust_chain');
    });
  }

  const oks: Case[] = [
    {
      name: 'max_path_length 1 above one intermediate',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = { constraints: { max_path_length: 1 } };
      },
      code: '',
    },
    {
      name: 'naming_constraints permit the host',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = {
          constraints: { naming_constraints: { permitted: ['127.0.0.1'], excluded: ['.example.com'] } },
        };
      },
      code: '',
    },
    {
      name: 'unknown non-critical policy operator is ignored',
      setup: ({ intermediate, leaf }) => {
        subordinate(intermediate, leaf).claims = {
          metadata_policy: { openid_relying_party: { client_name: { regexp: '^Nope' } } },
        };
      },
      code: '',
    },
    {
      name: 'unknown constraint parameter is ignored (§6.2)',
      setup: ({ ta, intermediate }) => {
        subordinate(ta, intermediate).claims = { constraints: { max_hops: 1 } };
      },
      code: '',
    },
    {
      name: 'statement within the clock skew of exp',
      setup: ({ leaf }) => {
        leaf.configuration.exp = now() - 10;
      },
      code: '',
    },
  ];
  for (const c of oks) {
    it(`ok/${c.name}`, async () => {
      const t = await threeLevels(topology);
      await c.setup(t);
      assertOk(await resolvers.create([t.anchor]).resolve(t.leaf.entityId));
    });
  }

  it('ok/allowed_entity_types removes other Entity Types but keeps federation_entity (§6.2.3)', async () => {
    const t = await threeLevels(topology);
    t.leaf.metadata.federation_entity = { organization_name: 'Leaf' };
    t.leaf.metadata.oauth_client = { client_name: 'c' };
    subordinate(t.ta, t.intermediate).claims = { constraints: { allowed_entity_types: ['oauth_client'] } };
    const result = await resolvers.create([t.anchor]).resolve(t.leaf.entityId);
    assertOk(result);
    assert.deepEqual(Object.keys(result.entity.metadata).sort(), ['federation_entity', 'oauth_client']);
  });

  it('fail/the trust anchor signs with a key that is not configured, though it is in its own jwks (§10.2)', async () => {
    const t = await threeLevels(topology);
    const fresh = await createTestKey('ta-2');
    t.ta.keys.push(fresh);
    t.ta.signingKey = fresh;
    assertFinding(await resolvers.create([t.anchor]).resolve(t.leaf.entityId), 'unknown_kid', /§10\.2/);
  });

  it('fail/inputs checked before anything is fetched', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    assertFinding(await resolver.resolve('http://127.0.0.1:1'), 'invalid_entity_id', /§1\.2/);
    assertFinding(await resolver.resolve(`${t.leaf.entityId}?x=1`), 'invalid_entity_id');
    assertFinding(
      await resolver.resolve(t.leaf.entityId, { trustAnchor: 'https://unknown.example' }),
      'invalid_trust_anchor',
    );
  });

  it('fail/a path ending at an entity that is no configured trust anchor (§10.1)', async () => {
    const t = await threeLevels(topology);
    const other = await topology.addEntity('configured');
    const result = await resolvers
      .create([{ entityId: other.entityId, jwks: other.jwks() }])
      .resolve(t.leaf.entityId);
    assertFinding(result, 'unknown_trust_anchor', /§10\.1/);
  });

  it('fail/a resolution stops at its request budget (§10.1)', async () => {
    const t = await threeLevels(topology);
    const result = await resolvers
      .create([t.anchor], { maxFetchesPerResolution: 3 })
      .resolve(t.leaf.entityId);
    assertFinding(result, 'fetch_budget_exhausted');
  });

  it('ok/every finding names the specification step it failed', async () => {
    const t = await threeLevels(topology);
    subordinate(t.ta, t.intermediate).claims = { constraints: { max_path_length: 0 } };
    t.leaf.configuration.exp = now() - 120;
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const result = await resolvers.create([t.anchor]).validateChain(chain);
    assert.equal(result.ok, false);
    for (const f of result.findings) assert.match(f.step, /^§\d+(\.\d+)*/);
  });

  it('fail/network errors are findings, not exceptions', async () => {
    const t = await threeLevels(topology);
    const result = await resolvers.create([t.anchor]).resolve('https://127.0.0.1:1');
    assertFinding(result, 'network_error', /§9/);
  });

  it('fail/the resolver refuses bad configuration at construction', () => {
    const fetcher = resolvers.fetcher();
    const clock = topology.clock.clock;
    assert.throws(() => resolvers.create([]), /trustAnchors/);
    assert.throws(
      () => resolvers.create([{ entityId: 'http://ta.example', jwks: { keys: [] } }]),
      /entityId/,
    );
    assert.throws(() => resolvers.create([{ entityId: 'https://ta.example', jwks: { keys: [] } }]), /jwks/);
    assert.throws(
      () =>
        resolvers.create([{ entityId: 'https://ta.example', jwks: { keys: [{ kty: 'EC', kid: 'a' }] } }], {
          maxChainLength: 1,
        }),
      /maxChainLength/,
    );
    void fetcher;
    void clock;
  });
});

describe('resolve: key rotation (§11.1, §11.2)', () => {
  async function rotated() {
    const t = await threeLevels(topology);
    const next = await createTestKey('intermediate-2');
    t.intermediate.keys.push(next);
    return { ...t, old: t.intermediate.signingKey, next };
  }

  it('ok/the new key is published by the intermediate and stated by the trust anchor; statements signed with it verify', async () => {
    const t = await rotated();
    t.intermediate.signingKey = t.next;
    const result = await resolvers.create([t.anchor]).resolve(t.leaf.entityId);
    assertOk(result);
    assert.equal(decodeJwt(result.entity.trustChain[1]!).iss, t.intermediate.entityId);
  });

  it('ok/statements signed with the old key still verify while it is listed', async () => {
    const t = await rotated();
    assertOk(await resolvers.create([t.anchor]).resolve(t.leaf.entityId));
  });

  it('fail/the trust anchor does not state the new key yet', async () => {
    const t = await rotated();
    t.intermediate.signingKey = t.next;
    subordinate(t.ta, t.intermediate).jwks = () => jwksOf(t.old);
    assertFinding(await resolvers.create([t.anchor]).resolve(t.leaf.entityId), 'unknown_kid');
  });

  it('fail/statements signed with the old key once it has been removed', async () => {
    const t = await rotated();
    t.intermediate.keys = [t.next];
    assertFinding(await resolvers.create([t.anchor]).resolve(t.leaf.entityId), 'unknown_kid');
  });

  it('ok/trust anchor rollover: new key in its Entity Configuration, configuration signed with the configured key', async () => {
    const t = await threeLevels(topology);
    const next = await createTestKey('ta-2');
    t.ta.keys.push(next);
    subordinate(t.ta, t.intermediate).sign = { key: next };
    assertOk(await resolvers.create([t.anchor]).resolve(t.leaf.entityId));
  });
});

describe('validateChain: a chain supplied by the caller (§10.2, §12.2)', () => {
  it('ok/validates without fetching anything', async () => {
    const t = await threeLevels(topology);
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const before = totalHits(t.leaf, t.intermediate, t.ta);
    const result = await resolvers.create([t.anchor]).validateChain(chain);
    assertOk(result);
    assert.equal(totalHits(t.leaf, t.intermediate, t.ta), before);
    assert.deepEqual(result.entity.trustChain, chain);
  });

  it('ok/the trust anchor’s Entity Configuration may be left out (§4)', async () => {
    const t = await threeLevels(topology);
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta], false);
    assertOk(await resolvers.create([t.anchor]).validateChain(chain));
  });

  it('fail/every finding is collected', async () => {
    const t = await threeLevels(topology);
    subordinate(t.ta, t.intermediate).claims = { exp: now() - 600, constraints: { max_path_length: 0 } };
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const result = await resolvers.create([t.anchor]).validateChain(chain);
    assertFinding(result, 'expired');
    assertFinding(result, 'max_path_length_exceeded');
  });

  const tampering: Array<{
    name: string;
    change: (chain: string[], t: Awaited<ReturnType<typeof threeLevels>>) => unknown;
    code: string;
    step?: RegExp;
  }> = [
    { name: 'empty chain', change: () => [], code: 'invalid_trust_chain' },
    { name: 'not an array', change: () => 'a.b.c', code: 'invalid_trust_chain' },
    { name: 'reversed order', change: (c) => [...c].reverse(), code: 'iss_sub_mismatch', step: /§10\.2/ },
    { name: 'a statement left out', change: (c) => [c[0], c[2], c[3]], code: 'iss_sub_mismatch' },
    {
      name: 'payload swapped under the signature',
      change: (c) => {
        const [h, , s] = c[0]!.split('.');
        const p = decodeJwt(c[0]!);
        const forged = Buffer.from(JSON.stringify({ ...p, metadata: { oauth_client: {} } })).toString(
          'base64url',
        );
        return [`${h}.${forged}.${s}`, ...c.slice(1)];
      },
      code: 'bad_signature',
    },
    {
      name: 'ends at an unconfigured trust anchor',
      change: (c) => c.slice(0, 2),
      code: 'trust_anchor_mismatch',
    },
    { name: 'a leaf alone', change: (c) => c.slice(0, 1), code: 'trust_anchor_mismatch' },
  ];
  for (const c of tampering) {
    it(`fail/${c.name} → ${c.code}`, async () => {
      const t = await threeLevels(topology);
      const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
      const result = await resolvers.create([t.anchor]).validateChain(c.change(chain, t) as string[]);
      assertFinding(result, c.code, c.step);
    });
  }

  it('fail/the subject’s Superior is not among its authority_hints (§3.2 step 6)', async () => {
    const t = await threeLevels(topology);
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    t.leaf.authorityHints.splice(0, 1, t.ta.entityId);
    chain[0] = (await fetchChain(resolvers.fetcher(), [t.leaf], false))[0]!;
    assertFinding(
      await resolvers.create([t.anchor]).validateChain(chain),
      'authority_hint_mismatch',
      /§3\.2 step 6/,
    );
  });

  it('fail/an Entity Statement carrying a trust_chain header (§4.3)', async () => {
    const t = await threeLevels(topology);
    t.leaf.configurationSign = { header: { trust_chain: ['x'] } };
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    assertFinding(await resolvers.create([t.anchor]).validateChain(chain), 'forbidden_header');
  });

  it('ok/an explicit registration request may carry a valid trust_chain header (§12.2.1); a malformed one is refused', async () => {
    const t = await threeLevels(topology);
    const plain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    t.leaf.configurationSign = { header: { trust_chain: plain } };
    const withHeader = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const resolver = resolvers.create([t.anchor]);
    assertOk(await resolver.validateChain(withHeader, { subjectIsRegistrationRequest: true }));
    // Only ES[0], and only for a registration request.
    assertFinding(await resolver.validateChain(withHeader), 'forbidden_header');
    t.leaf.configurationSign = { header: { trust_chain: ['not a chain of this entity'] } };
    const malformed = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    assertFinding(
      await resolver.validateChain(malformed, { subjectIsRegistrationRequest: true }),
      'forbidden_header',
    );
  });

  it('fail/a chain for another trust anchor than requested', async () => {
    const t = await threeLevels(topology);
    const other = await topology.addEntity('other');
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const resolver = resolvers.create([t.anchor, { entityId: other.entityId, jwks: other.jwks() }]);
    assertFinding(
      await resolver.validateChain(chain, { trustAnchor: other.entityId }),
      'trust_anchor_mismatch',
    );
  });

  it('ok/typ of every statement is entity-statement+jwt', async () => {
    const t = await threeLevels(topology);
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    for (const jwt of chain) {
      assert.equal(
        JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).typ,
        JWT_TYPES.entityStatement,
      );
    }
  });
});

describe('resolve: caching (§10.4, §10.2)', () => {
  const paths = (e: TestEntity) => totalHits(e);

  it('ok/a resolved chain is served from the cache until it expires, then fetched again', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    const first = await resolver.resolve(t.leaf.entityId);
    assertOk(first);
    const fetched = paths(t.leaf) + paths(t.intermediate) + paths(t.ta);
    assert.equal(fetched, 5);
    const second = await resolver.resolve(t.leaf.entityId);
    assertOk(second);
    assert.deepEqual(second.entity, first.entity);
    assert.equal(paths(t.leaf) + paths(t.intermediate) + paths(t.ta), fetched);

    topology.clock.advance(first.entity.expiresAt - now() + 60);
    const third = await resolver.resolve(t.leaf.entityId);
    assertOk(third);
    assert.equal(paths(t.leaf) + paths(t.intermediate) + paths(t.ta), fetched + 5);
    assert.ok(third.entity.expiresAt > first.entity.expiresAt);
  });

  it('ok/the chain expires with its earliest statement', async () => {
    const t = await threeLevels(topology);
    subordinate(t.intermediate, t.leaf).claims = { exp: now() + 120 };
    const resolver = resolvers.create([t.anchor]);
    const first = await resolver.resolve(t.leaf.entityId);
    assertOk(first);
    assert.equal(first.entity.expiresAt, now() + 120);
    topology.clock.advance(60);
    await resolver.resolve(t.leaf.entityId);
    assert.equal(t.intermediate.hits.get('/fetch'), 1);
    topology.clock.advance(61);
    // Only the expired statement is fetched again; the others are still cached.
    assertOk(await resolver.resolve(t.leaf.entityId));
    assert.equal(t.intermediate.hits.get('/fetch'), 2);
    assert.equal(t.leaf.hits.get('/.well-known/openid-federation'), 1);
  });

  it('ok/forceRefresh bypasses cached chains and statements', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    assertOk(await resolver.resolve(t.leaf.entityId));
    assertOk(await resolver.resolve(t.leaf.entityId, { forceRefresh: true }));
    assert.equal(paths(t.leaf) + paths(t.intermediate) + paths(t.ta), 10);
  });

  it('ok/another Entity Type is another chain entry but reuses the cached statements', async () => {
    const t = await threeLevels(topology);
    t.leaf.metadata.oauth_client = { client_name: 'c' };
    const resolver = resolvers.create([t.anchor]);
    assertOk(await resolver.resolve(t.leaf.entityId, { entityType: 'openid_relying_party' }));
    const result = await resolver.resolve(t.leaf.entityId, { entityType: 'oauth_client' });
    assertOk(result);
    assert.deepEqual(Object.keys(result.entity.metadata), ['oauth_client']);
    assert.equal(paths(t.leaf) + paths(t.intermediate) + paths(t.ta), 5);
  });

  it('ok/a failed resolution is not cached', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    t.leaf.configuration.exp = now() - 120;
    assert.equal((await resolver.resolve(t.leaf.entityId)).ok, false);
    delete t.leaf.configuration.exp;
    assertOk(await resolver.resolve(t.leaf.entityId));
  });

  it('ok/concurrent resolutions of one entity share one set of fetches', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    const results = await Promise.all([1, 2, 3].map(() => resolver.resolve(t.leaf.entityId)));
    for (const r of results) assertOk(r);
    assert.equal(paths(t.leaf) + paths(t.intermediate) + paths(t.ta), 5);
  });
});

describe('a Trust Anchor whose configured keys are its current ones (the platform itself, §4)', () => {
  it('fail/an older anchor configuration carried in the chain cannot vouch for a key the anchor no longer has', async () => {
    const t = await threeLevels(topology);
    // The anchor once published `retired` beside its configured key and signed its statement with it.
    const retired = await createTestKey('ta-retired');
    t.ta.keys.push(retired);
    subordinate(t.ta, t.intermediate).sign = { key: retired };
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    // Today the configured (current) keys no longer hold it.
    const current = { ...t.anchor, keysAreCurrent: true };
    const refused = await resolvers.create([current]).validateChain(chain);
    assert.equal(refused.ok, false);
    assert.ok(
      refused.findings.some((f) => f.step.startsWith('§4') && /configured Trust Anchor keys/.test(f.message)),
      JSON.stringify(refused.findings),
    );
    // Pinned out of band instead, the anchor's configuration may introduce a key (rollover).
    assertOk(await resolvers.create([t.anchor]).validateChain(chain));
  });
});
