// Refresh ahead of expiry (PERFORMANCE.md, Federation): a cached chain close to its expiry is served at once and
// resolved again in the background, once at a time. Time is the injected test clock only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENTITY_CONFIGURATION_PATH } from '../../src/federation/index.ts';
import type { ResolveResult } from '../../src/federation/types.ts';
import { assertOk, hits, resolverFactory, totalHits } from './support/resolver.ts';
import { startTopology, type Topology, threeLevels } from './support/topology.ts';

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

const now = () => topology.clock.seconds();

/** Polls `check` (real time, for the background work to finish) until it holds; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function expiresAt(result: ResolveResult): number {
  assertOk(result);
  return result.entity.expiresAt;
}

describe('resolver: refresh ahead of expiry', () => {
  it('ok/within the margin the cached chain is served at once and refreshed once in the background', async () => {
    const t = await threeLevels(topology);
    const fetched = () => totalHits(t.leaf, t.intermediate, t.ta);
    const resolver = resolvers.create([t.anchor]);
    const first = await resolver.resolve(t.leaf.entityId);
    assertOk(first);
    assert.equal(fetched(), 5);
    // Statements live an hour: the margin is min(10% of 3600 s, 300 s) = 300 s.
    assert.equal(first.entity.expiresAt, now() + 3600);
    topology.clock.advance(first.entity.expiresAt - now() - 299);

    // Every caller gets the cached chain without waiting; a single refresh starts.
    const served = await Promise.all([1, 2, 3, 4].map(() => resolver.resolve(t.leaf.entityId)));
    for (const r of served) {
      assertOk(r);
      assert.deepEqual(r.entity, first.entity);
    }
    assertOk(await resolver.resolve(t.leaf.entityId));
    await eventually(
      async () => expiresAt(await resolver.resolve(t.leaf.entityId)) > first.entity.expiresAt,
      'the refreshed chain',
    );
    const refreshed = await resolver.resolve(t.leaf.entityId);
    assertOk(refreshed);
    assert.equal(refreshed.entity.expiresAt, now() + 3600);
    // forceRefresh semantics: every statement fetched again, once, whatever the number of callers.
    assert.notEqual(refreshed.entity.trustChain[0], first.entity.trustChain[0]);
    assert.equal(fetched(), 10);
    await sleep(50);
    assert.equal(fetched(), 10, 'no second refresh');
  });

  it('ok/outside the margin nothing is refreshed; past the expiry the chain is resolved inline as before', async () => {
    const t = await threeLevels(topology);
    const fetched = () => totalHits(t.leaf, t.intermediate, t.ta);
    const resolver = resolvers.create([t.anchor]);
    const first = expiresAt(await resolver.resolve(t.leaf.entityId));
    topology.clock.advance(first - now() - 301);
    assert.equal(expiresAt(await resolver.resolve(t.leaf.entityId)), first);
    await sleep(50);
    assert.equal(fetched(), 5);
    topology.clock.advance(302);
    assert.ok(expiresAt(await resolver.resolve(t.leaf.entityId)) > first);
    assert.equal(fetched(), 10);
  });

  it('ok/the ratio and the cap are configurable; a ratio of 0 turns refreshing ahead off', async () => {
    const t = await threeLevels(topology);
    const fetched = () => totalHits(t.leaf, t.intermediate, t.ta);
    const wide = resolvers.create([t.anchor], { refreshAheadRatio: 0.5, refreshAheadMaxSeconds: 3600 });
    const off = resolvers.create([t.anchor], { refreshAheadRatio: 0 });
    const first = expiresAt(await wide.resolve(t.leaf.entityId));
    assert.equal(expiresAt(await off.resolve(t.leaf.entityId)), first);
    assert.equal(fetched(), 10);
    // Half the hour before expiry: inside the wide margin only.
    topology.clock.advance(first - now() - 1799);
    assert.equal(expiresAt(await off.resolve(t.leaf.entityId)), first);
    assert.equal(expiresAt(await wide.resolve(t.leaf.entityId)), first);
    await eventually(() => fetched() === 15, 'the wide resolver’s refresh');
    topology.clock.advance(1798);
    assert.equal(
      expiresAt(await off.resolve(t.leaf.entityId)),
      first,
      'one second before expiry, still cached',
    );
    await sleep(50);
    assert.equal(fetched(), 15);
  });

  it('ok/a failed refresh keeps the cached chain, and is tried again only after a pause', async () => {
    const t = await threeLevels(topology);
    const resolver = resolvers.create([t.anchor]);
    const first = expiresAt(await resolver.resolve(t.leaf.entityId));
    t.leaf.routes.set(EC, (_req, res) => {
      res.writeHead(503);
      res.end();
    });
    topology.clock.advance(first - now() - 200);
    assert.equal(expiresAt(await resolver.resolve(t.leaf.entityId)), first);
    await eventually(() => hits(t.leaf, EC) === 2, 'the refresh attempt');
    await sleep(50);
    for (let n = 0; n < 3; n++) assert.equal(expiresAt(await resolver.resolve(t.leaf.entityId)), first);
    await sleep(50);
    assert.equal(hits(t.leaf, EC), 2, 'not tried again at once');

    topology.clock.advance(31);
    assert.equal(expiresAt(await resolver.resolve(t.leaf.entityId)), first);
    await eventually(() => hits(t.leaf, EC) === 3, 'the second attempt');

    t.leaf.routes.delete(EC);
    topology.clock.advance(31);
    assert.equal(expiresAt(await resolver.resolve(t.leaf.entityId)), first);
    await eventually(
      async () => expiresAt(await resolver.resolve(t.leaf.entityId)) > first,
      'the successful refresh',
    );
  });

  it('fail/refresh-ahead settings out of range are refused at construction', () => {
    const anchor = { entityId: 'https://ta.example.org', jwks: { keys: [{ kty: 'EC', kid: 'k' }] } };
    for (const options of [
      { refreshAheadRatio: 1 },
      { refreshAheadRatio: -0.1 },
      { refreshAheadRatio: Number.NaN },
      { refreshAheadMaxSeconds: -1 },
      { refreshAheadMaxSeconds: 1.5 },
      { maxVerifiedSignatures: 0 },
    ]) {
      assert.throws(() => resolvers.create([anchor], options), TypeError, JSON.stringify(options));
    }
  });
});
