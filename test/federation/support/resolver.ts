import assert from 'node:assert/strict';
import { createFederationFetcher, type FederationFetcher } from '../../../src/federation/fetch/index.ts';
import { ENTITY_CONFIGURATION_PATH, MEDIA_TYPES } from '../../../src/federation/index.ts';
import {
  createTrustChainResolver,
  type TrustChainResolverOptions,
} from '../../../src/federation/trust-chain/index.ts';
import type { ChainFinding, ResolveResult, TrustAnchorConfig } from '../../../src/federation/types.ts';
import type { TestEntity, Topology } from './topology.ts';

/** Resolvers over a topology; every fetcher they open is closed by `close()`. */
export function resolverFactory(topology: Topology) {
  const fetchers: FederationFetcher[] = [];
  const fetcher = () => {
    const f = createFederationFetcher({ allowLoopback: true, ca: topology.caPem, timeoutMs: 3000 });
    fetchers.push(f);
    return f;
  };
  return {
    fetcher,
    create(trustAnchors: TrustAnchorConfig[], options: Partial<TrustChainResolverOptions> = {}) {
      return createTrustChainResolver({
        trustAnchors,
        fetcher: fetcher(),
        clock: topology.clock.clock,
        ...options,
      });
    },
    async close() {
      await Promise.all(fetchers.map((f) => f.close()));
    },
  };
}

/** Fetches `[leaf EC, SS…, TA EC]` straight from the topology, as a caller of validateChain would have it. */
export async function fetchChain(
  fetcher: FederationFetcher,
  path: TestEntity[],
  withAnchor = true,
): Promise<string[]> {
  const get = async (url: string) => (await fetcher.fetch({ url, accept: MEDIA_TYPES.entityStatement })).body;
  const chain = [await get(`${path[0]!.entityId}${ENTITY_CONFIGURATION_PATH}`)];
  for (let n = 1; n < path.length; n++) {
    chain.push(await get(`${path[n]!.fetchEndpoint}?sub=${encodeURIComponent(path[n - 1]!.entityId)}`));
  }
  if (withAnchor) chain.push(await get(`${path[path.length - 1]!.entityId}${ENTITY_CONFIGURATION_PATH}`));
  return chain;
}

const show = (findings: ChainFinding[]) => JSON.stringify(findings, null, 1);

export function assertOk(result: ResolveResult): asserts result is Extract<ResolveResult, { ok: true }> {
  assert.ok(result.ok, `expected a valid chain, got ${show(result.findings)}`);
}

/** Asserts the result failed with a finding of `code` (and a step matching `step`, when given). */
export function assertFinding(result: ResolveResult, code: string, step?: RegExp, ok = false): ChainFinding {
  assert.equal(result.ok, ok, `expected ok=${ok}: ${show(result.findings)}`);
  const found = result.findings.find((f) => f.code === code);
  assert.ok(found, `expected a ${code} finding, got ${show(result.findings)}`);
  if (step) assert.match(found.step, step);
  return found;
}

export const hits = (entity: TestEntity, path: string) => entity.hits.get(path) ?? 0;
export const totalHits = (...entities: TestEntity[]) =>
  entities.reduce((n, e) => n + [...e.hits.values()].reduce((a, b) => a + b, 0), 0);
