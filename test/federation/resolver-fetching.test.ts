// What one resolution asks the network for: each statement once, its Trust Mark Issuers' chains included, and
// independent statements at the same time.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ENTITY_CONFIGURATION_PATH, MEDIA_TYPES } from '../../src/federation/index.ts';
import { assertOk, fetchChain, hits, resolverFactory, totalHits } from './support/resolver.ts';
import { startTopology, type TestEntity, type Topology, threeLevels } from './support/topology.ts';

const TYPE = 'https://federation.example.org/trust-marks/member';
const EC = ENTITY_CONFIGURATION_PATH;

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

/** Requests served per path, for the entities given. */
const served = (...entities: TestEntity[]) =>
  Object.fromEntries(entities.map((e) => [e.name, Object.fromEntries([...e.hits].sort())]));

describe('resolver: a Trust Mark Issuer’s chain reuses the resolution’s statements (§7.3, §10)', () => {
  /** Trust Anchor → Intermediate → leaf; the Intermediate issues the leaf a Trust Mark the Trust Anchor accepts. */
  async function markedByIntermediate() {
    const t = await threeLevels(topology);
    t.ta.configuration.trust_mark_issuers = { [TYPE]: [t.intermediate.entityId] };
    t.leaf.addTrustMark(TYPE, await t.intermediate.issueTrustMark(t.leaf, TYPE));
    return t;
  }

  it('ok/forceRefresh: the issuer’s chain is the subject chain’s statements, none fetched twice', async () => {
    const t = await markedByIntermediate();
    const resolver = resolvers.create([t.anchor]);
    const result = await resolver.resolve(t.leaf.entityId, { forceRefresh: true });
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
    assert.deepEqual(result.findings, []);
    // Leaf EC, Intermediate EC and its statement about the leaf, Trust Anchor EC and its statement about the
    // Intermediate: each once, though the Intermediate's chain [its EC, TA→Intermediate, TA EC] is resolved for
    // the Trust Mark. Then the status endpoint.
    assert.deepEqual(served(t.leaf, t.intermediate, t.ta), {
      leaf: { [EC]: 1 },
      intermediate: { [EC]: 1, '/fetch': 1, '/status': 1 },
      ta: { [EC]: 1, '/fetch': 1 },
    });
    // forceRefresh still means "nothing from an earlier resolution": a second one fetches everything again.
    assertOk(await resolver.resolve(t.leaf.entityId, { forceRefresh: true }));
    assert.equal(totalHits(t.leaf, t.intermediate, t.ta), 12);
  });

  it('ok/an issuer under the trust anchor, forceRefresh: only what the subject’s chain lacks is fetched', async () => {
    const t = await threeLevels(topology);
    const tmi = await topology.addEntity('tmi');
    t.ta.addSubordinate(tmi);
    t.ta.configuration.trust_mark_issuers = { [TYPE]: [tmi.entityId] };
    t.leaf.addTrustMark(TYPE, await tmi.issueTrustMark(t.leaf, TYPE));
    const result = await resolvers.create([t.anchor]).resolve(t.leaf.entityId, { forceRefresh: true });
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
    assert.equal(hits(t.ta, EC), 1, 'the Trust Anchor’s configuration is not fetched again');
    assert.equal(hits(t.ta, '/fetch'), 2, 'about the Intermediate and about the issuer');
    assert.equal(hits(tmi, EC), 1);
    assert.equal(hits(tmi, '/status'), 1);
  });

  it('ok/the issuer’s chain is cached: a second subject marked by it fetches its own statements only', async () => {
    const t = await markedByIntermediate();
    const sibling = await topology.addEntity('sibling');
    t.intermediate.addSubordinate(sibling);
    sibling.addTrustMark(TYPE, await t.intermediate.issueTrustMark(sibling, TYPE));
    const resolver = resolvers.create([t.anchor]);
    assertOk(await resolver.resolve(t.leaf.entityId));
    const before = served(t.intermediate, t.ta);
    const result = await resolver.resolve(sibling.entityId);
    assertOk(result);
    assert.equal(result.entity.trustMarks.length, 1);
    assert.deepEqual(served(t.intermediate, t.ta), {
      intermediate: { ...before.intermediate, '/fetch': 2, '/status': 2 },
      ta: before.ta,
    });
  });

  it('ok/validateChain: the issuer’s chain is resolved once, then served from the cache', async () => {
    const t = await markedByIntermediate();
    const chain = await fetchChain(resolvers.fetcher(), [t.leaf, t.intermediate, t.ta]);
    const resolver = resolvers.create([t.anchor]);
    const before = totalHits(t.leaf, t.intermediate, t.ta);
    for (let n = 0; n < 3; n++) {
      const result = await resolver.validateChain(chain);
      assertOk(result);
      assert.equal(result.entity.trustMarks.length, 1);
    }
    // The Intermediate's chain once (its EC, the Trust Anchor's EC and statement about it), the status each time.
    assert.equal(hits(t.intermediate, EC), 1);
    assert.equal(hits(t.intermediate, '/status'), 3);
    assert.equal(totalHits(t.leaf, t.intermediate, t.ta), before + 3 + 3);
  });
});

describe('resolver: independent statements are fetched together (§10.1)', () => {
  /**
   * Holds the responses of `routes` until all of them have been asked for (or `patienceMs` has passed), then
   * serves the JWTs given: tells whether the resolver had them all in flight at once.
   */
  function rendezvous(routes: Array<{ entity: TestEntity; path: string; jwt: string }>, patienceMs = 1500) {
    let arrived = 0;
    let met = false;
    let release: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      release = resolve;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      release();
    }, patienceMs);
    for (const { entity, path, jwt } of routes) {
      entity.routes.set(path, async (_req, res: ServerResponse) => {
        if (++arrived === routes.length && !timedOut) {
          met = true;
          clearTimeout(timer);
          release();
        }
        await all;
        res.writeHead(200, { 'content-type': MEDIA_TYPES.entityStatement });
        res.end(jwt);
      });
    }
    return {
      met: () => met,
      done: () => clearTimeout(timer),
    };
  }

  it('ok/a superior’s statement about its subordinate and its own superior’s configuration are in flight together', async () => {
    const t = await threeLevels(topology);
    const [, toLeaf, , taConfiguration] = await fetchChain(resolvers.fetcher(), [
      t.leaf,
      t.intermediate,
      t.ta,
    ]);
    const meeting = rendezvous([
      { entity: t.intermediate, path: '/fetch', jwt: toLeaf! },
      { entity: t.ta, path: EC, jwt: taConfiguration! },
    ]);
    try {
      const started = performance.now();
      const result = await resolvers.create([t.anchor]).resolve(t.leaf.entityId);
      assertOk(result);
      assert.ok(
        meeting.met(),
        'the Trust Anchor’s configuration was only asked for after the statement came back',
      );
      assert.ok(performance.now() - started < 1500);
    } finally {
      meeting.done();
    }
  });

  it('ok/the configurations of all of an entity’s superiors are in flight together', async () => {
    const t = await threeLevels(topology);
    const second = await topology.addEntity('second-intermediate');
    t.ta.addSubordinate(second);
    second.addSubordinate(t.leaf);
    const fetcher = resolvers.fetcher();
    const get = async (url: string) =>
      (await fetcher.fetch({ url, accept: MEDIA_TYPES.entityStatement })).body;
    const meeting = rendezvous([
      { entity: t.intermediate, path: EC, jwt: await get(`${t.intermediate.entityId}${EC}`) },
      { entity: second, path: EC, jwt: await get(`${second.entityId}${EC}`) },
    ]);
    try {
      assertOk(await resolvers.create([t.anchor]).resolve(t.leaf.entityId));
      assert.ok(meeting.met());
    } finally {
      meeting.done();
    }
  });

  it('ok/requests that go out together still count against the resolution’s budget', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor], { maxFetchesPerResolution: 4 });
    const result = await resolver.resolve(t.leaf.entityId);
    assert.equal(result.ok, false);
    assert.ok(totalHits(t.leaf, t.intermediate, t.ta) <= 4);
  });
});
