import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createDecisionCore,
  createMemoryLivenessState,
  type Decision,
  type DecisionCore,
  type DecisionCoreOptions,
  type MemoryLivenessState,
  type RequestFacts,
} from '../../../src/gateway/index.ts';
import type { CatalogRoute } from '../../../src/gateway/match-route.ts';
import { createMetricsRegistry, decisionMetrics } from '../../../src/shared/metrics/index.ts';
import type { RateLimitStore } from '../../../src/shared/rate-limit/index.ts';
import { capturingLogger, JwksServer, type SigningKey, signingKey, TokenMinter } from '../fixture.ts';
import { serverTls } from './server-tls.ts';

/**
 * Step 6 of the decision core (issue 16): which limits apply to a request (override, operation, catalog),
 * that an organisation's limit is shared by its clients, that public routes and refused requests are not
 * counted, and what a failing counter store means (fail-open by default, fail-closed on demand).
 */
const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const route = (path: string, extra: Partial<CatalogRoute> = {}): CatalogRoute => ({
  method: 'GET',
  pathPattern: path,
  scopes: [['r']],
  auth: 'token',
  // No certificate needed: unbound tokens are admitted on `optional` routes, so the test needs no PKI.
  mtls: 'optional',
  dpop: 'refused',
  ...extra,
});
const ROUTES: CatalogRoute[] = [
  route('/v1/a'),
  route('/v1/b', { rateLimit: { client: [{ quota: 1, window: 60 }] } } as Partial<CatalogRoute>),
  { method: 'GET', pathPattern: '/v1/public', scopes: [], auth: 'public', mtls: 'optional', dpop: 'refused' },
];

let jwks: JwksServer;
let tls: { cert: string; key: string };
let key: SigningKey;
let minter: TokenMinter;
const cores: DecisionCore[] = [];
const states: MemoryLivenessState[] = [];

before(async () => {
  tls = await serverTls();
  key = await signingKey('k1');
  jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  minter = new TokenMinter(ISSUER, AUDIENCE, key);
});
after(async () => {
  for (const core of cores) await core.close();
  for (const state of states) state.close();
  await jwks?.close();
});

function liveness(): MemoryLivenessState {
  const state = createMemoryLivenessState();
  states.push(state);
  state.setOrg('org-1', 'active');
  state.setOrg('org-2', 'active');
  for (const [clientId, orgId] of [
    ['c1', 'org-1'],
    ['c2', 'org-1'],
    ['c3', 'org-2'],
  ] as const) {
    state.setClient({
      clientId,
      orgId,
      status: 'active',
      authMethod: 'private_key_jwt',
      selfSignedX5t: [],
      certificateApps: [],
    });
  }
  return state;
}

async function core(
  state: MemoryLivenessState,
  extra: Partial<DecisionCoreOptions> = {},
): Promise<{ core: DecisionCore; lines: string[] }> {
  const { logger, lines } = capturingLogger();
  const created = await createDecisionCore({
    liveness: state,
    routes: ROUTES,
    trustedCa: tls.cert,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: tls.cert,
    logger,
    ...extra,
  });
  cores.push(created);
  return { core: created, lines };
}

const tokens = new Map<string, string>();
async function ask(c: DecisionCore, clientId: string, path = '/v1/a', token?: string): Promise<Decision> {
  let bearer = token ?? tokens.get(clientId);
  if (bearer === undefined) {
    const orgId = clientId === 'c3' ? 'org-2' : 'org-1';
    bearer = await minter.sign(minter.claims(clientId, orgId, undefined, 'r'));
    tokens.set(clientId, bearer);
  }
  const facts: RequestFacts = {
    method: 'GET',
    target: path,
    authorization: `Bearer ${bearer}`,
    dpop: undefined,
    certificate: undefined,
    requestId: 'req',
  };
  const decided = c.decide(facts);
  const decision = decided instanceof Promise ? await decided : decided;
  c.record('gateway', facts, decision, 1);
  return decision;
}

const statusOf = (d: Decision) => (d.allow ? 200 : d.status);

describe('which limits apply', () => {
  test('ok/no limit anywhere: no counter is taken, no headers (the decision stays synchronous)', async () => {
    const { core: c } = await core(liveness());
    await ask(c, 'c1');
    const facts: RequestFacts = {
      method: 'GET',
      target: '/v1/a',
      authorization: `Bearer ${tokens.get('c1')}`,
      dpop: undefined,
      certificate: undefined,
      requestId: 'r',
    };
    const decided = c.decide(facts);
    assert.ok(!(decided instanceof Promise), 'a cached token and no limit: no promise');
    assert.equal((decided as Decision).responseHeaders, undefined);
  });

  test('ok/an organisation limit is shared by its clients; fail/both refused once used up; another org unaffected', async () => {
    const state = liveness();
    state.setRateLimit('organisation', 'org-1', [{ quota: 3, window: 3600 }]);
    const { core: c } = await core(state);
    assert.equal(statusOf(await ask(c, 'c1')), 200);
    assert.equal(statusOf(await ask(c, 'c1')), 200);
    const third = await ask(c, 'c2');
    assert.equal(statusOf(third), 200);
    assert.match(third.responseHeaders?.ratelimit ?? '', /^"organisation-3600s";r=0;t=\d+$/);
    const refused = await ask(c, 'c2');
    assert.equal(statusOf(refused), 429);
    assert.equal(refused.allow ? '' : refused.reason, 'rate_limited');
    assert.equal(refused.allow ? 'x' : refused.challenge, undefined);
    assert.ok(Number(refused.responseHeaders?.['retry-after']) > 0);
    assert.equal(statusOf(await ask(c, 'c1')), 429);
    assert.equal(statusOf(await ask(c, 'c3')), 200);
  });

  test('ok/the operation’s own limit counts per operation, the catalog default across the others', async () => {
    const state = liveness();
    state.setRateLimit('catalog', '*', { client: [{ quota: 2, window: 3600 }] });
    const { core: c } = await core(state);
    // /v1/b: its own 1 per 60 s.
    const b = await ask(c, 'c3', '/v1/b');
    assert.equal(statusOf(b), 200);
    assert.equal(b.responseHeaders?.['ratelimit-policy'], '"client-60s";q=1;w=60');
    assert.equal(statusOf(await ask(c, 'c3', '/v1/b')), 429);
    // /v1/a: the catalog's 2 per hour, its own counter.
    assert.equal(statusOf(await ask(c, 'c3')), 200);
    assert.equal(statusOf(await ask(c, 'c3')), 200);
    assert.equal(statusOf(await ask(c, 'c3')), 429);
    // Another client has its own count of the same default.
    assert.equal(statusOf(await ask(c, 'c1')), 200);
  });

  test('ok/an application override replaces every client limit of the catalog; [] means not limited', async () => {
    const state = liveness();
    state.setRateLimit('catalog', '*', { client: [{ quota: 1, window: 3600 }] });
    state.setRateLimit('application', 'c1', []);
    const { core: c } = await core(state);
    for (let i = 0; i < 5; i++) assert.equal(statusOf(await ask(c, 'c1')), 200);
    for (let i = 0; i < 3; i++) assert.equal(statusOf(await ask(c, 'c1', '/v1/b')), 200);
    assert.equal(statusOf(await ask(c, 'c2')), 200);
    assert.equal(statusOf(await ask(c, 'c2')), 429);
    // Removed (a feed entry with policy null): the catalog's limit applies again.
    state.apply({
      seq: 1,
      at: new Date().toISOString(),
      kind: 'rate_limit.changed',
      entityId: 'application:c1',
      payload: { subject_kind: 'application', subject_id: 'c1', policy: null },
    });
    assert.equal(statusOf(await ask(c, 'c1')), 200);
    assert.equal(statusOf(await ask(c, 'c1')), 429);
  });

  test('ok/per-second and per-day limits together: both headers, the exhausted one refuses', async () => {
    const state = liveness();
    state.setRateLimit('application', 'c1', [
      { quota: 1000, window: 86400 },
      { quota: 2, window: 1 },
    ]);
    const { core: c } = await core(state);
    const first = await ask(c, 'c1');
    assert.equal(
      first.responseHeaders?.['ratelimit-policy'],
      '"client-1s";q=2;w=1, "client-86400s";q=1000;w=86400',
    );
    await ask(c, 'c1');
    const refused = await ask(c, 'c1');
    assert.equal(statusOf(refused), 429);
    assert.equal(refused.allow ? '' : refused.detail, 'rate limit client-1s exceeded; retry after 1 s');
    assert.equal(refused.responseHeaders?.['retry-after'], '1');
    // The refused request did not use one of the day's quota: 998 left after two, shown on the 429 as well.
    assert.match(refused.responseHeaders?.ratelimit ?? '', /"client-86400s";r=998;/);
  });

  test('fail/a request the client limit refuses uses none of its organisation’s quota', async () => {
    const state = liveness();
    state.setRateLimit('application', 'c1', [{ quota: 1, window: 3600 }]);
    state.setRateLimit('organisation', 'org-1', [{ quota: 3, window: 3600 }]);
    const { core: c } = await core(state);
    assert.equal(statusOf(await ask(c, 'c1')), 200);
    for (let i = 0; i < 5; i++) assert.equal(statusOf(await ask(c, 'c1')), 429);
    // c1's five refusals left the organisation's other two requests to c2.
    assert.equal(statusOf(await ask(c, 'c2')), 200);
    assert.equal(statusOf(await ask(c, 'c2')), 200);
    assert.equal(statusOf(await ask(c, 'c2')), 429);
  });

  test('fail/public routes and refused requests are not counted', async () => {
    const state = liveness();
    state.setRateLimit('catalog', '*', {
      client: [{ quota: 1, window: 3600 }],
      organisation: [{ quota: 1, window: 3600 }],
    });
    const { core: c } = await core(state);
    const pub = await ask(c, 'c1', '/v1/public');
    assert.equal(statusOf(pub), 200);
    assert.equal(pub.responseHeaders, undefined);
    // Insufficient scope: refused before the limit is looked at.
    const noScope = await minter.sign(minter.claims('c1', 'org-1', undefined, 'other'));
    assert.equal(statusOf(await ask(c, 'c1', '/v1/a', noScope)), 403);
    assert.equal(statusOf(await ask(c, 'c1')), 200);
  });

  test('fail/a malformed limit from the feed is dropped, never half-applied', async () => {
    const state = liveness();
    state.setRateLimit('application', 'c1', [{ quota: 1, window: 3600 }]);
    state.setRateLimit('application', 'c1', [{ quota: -1, window: 3600 }]);
    state.setRateLimit('catalog', '*', { client: 'lots' });
    const { core: c } = await core(state);
    for (let i = 0; i < 3; i++) assert.equal(statusOf(await ask(c, 'c1')), 200);
  });
});

describe('when the counter store fails', () => {
  const broken: RateLimitStore = {
    take: () => Promise.reject(new Error('connection refused')),
    takeAll: () => Promise.reject(new Error('connection refused')),
    close: async () => {},
  };

  test('ok/fail-open (default): admitted unchecked, one warning, counted in accredit_rate_limit_unchecked_total', async () => {
    const state = liveness();
    state.setRateLimit('application', 'c1', [{ quota: 1, window: 3600 }]);
    const registry = createMetricsRegistry();
    const { core: c, lines } = await core(state, {
      rateLimit: { store: broken },
      onDecision: decisionMetrics(registry),
    });
    for (let i = 0; i < 3; i++) {
      const d = await ask(c, 'c1');
      assert.equal(statusOf(d), 200);
      assert.equal(d.responseHeaders, undefined);
    }
    const warnings = lines.filter((l) => l.includes('rate limit store failed'));
    assert.equal(warnings.length, 1, 'told once per interval, not per request');
    assert.match(warnings[0] as string, /connection refused/);
    assert.ok(lines.some((l) => l.includes('"rate_limit":"unchecked"')));
    const text = await registry.metrics();
    assert.match(text, /accredit_rate_limit_unchecked_total\{door="gateway"\} 3/);
  });

  test('fail/fail-closed: 503 rate_limit_unavailable', async () => {
    const state = liveness();
    state.setRateLimit('application', 'c1', [{ quota: 1, window: 3600 }]);
    const { core: c } = await core(state, { rateLimit: { store: broken, onStoreError: 'closed' } });
    const d = await ask(c, 'c1');
    assert.equal(statusOf(d), 503);
    assert.equal(d.allow ? '' : d.reason, 'rate_limit_unavailable');
    // Clients without a limit never touch the store.
    assert.equal(statusOf(await ask(c, 'c3')), 200);
  });

  test('fail/an unknown onStoreError stops the core at creation', async () => {
    await assert.rejects(
      core(liveness(), { rateLimit: { onStoreError: 'maybe' as 'open' } }),
      /rateLimit.onStoreError: expected open or closed/,
    );
  });
});

test('metrics: rate_limited shows in accredit_decisions_total', async () => {
  const state = liveness();
  state.setRateLimit('application', 'c1', [{ quota: 1, window: 3600 }]);
  const registry = createMetricsRegistry();
  const { core: c } = await core(state, { onDecision: decisionMetrics(registry) });
  await ask(c, 'c1');
  await ask(c, 'c1');
  const text = await registry.metrics();
  assert.match(text, /accredit_decisions_total\{door="gateway",decision="deny",reason="rate_limited"\} 1/);
});

test('liveness: ok/a snapshot carries every limit; fail/what the next snapshot does not list is forgotten', () => {
  const state = liveness();
  const snapshot = {
    seq: 5,
    organisations: [{ id: 'org-1', status: 'active' }],
    applications: [],
    certificates: [],
    revokedTokens: [],
    routes: [],
    rateLimits: [
      { kind: 'catalog' as const, id: '*', policy: { organisation: [{ quota: 9, window: 60 }] } },
      { kind: 'organisation' as const, id: 'org-1', policy: [{ quota: 5, window: 1 }] },
      { kind: 'application' as const, id: 'c1', policy: [] },
    ],
  };
  state.replace(snapshot);
  const limits = state.rateLimits();
  assert.deepEqual(limits.catalog, { organisation: [{ quota: 9, window: 60 }] });
  assert.deepEqual(limits.organisation('org-1'), [{ quota: 5, window: 1 }]);
  assert.deepEqual(limits.application('c1'), []);
  assert.equal(limits.application('c2'), undefined);
  state.replace({ ...snapshot, rateLimits: [] });
  assert.equal(state.rateLimits().catalog, undefined);
  assert.equal(state.rateLimits().organisation('org-1'), undefined);
  assert.equal(state.rateLimits().application('c1'), undefined);
  // An older platform's snapshot, without the field: no limits.
  const { rateLimits: _, ...older } = snapshot;
  state.replace(older);
  assert.equal(state.rateLimits().catalog, undefined);
});
