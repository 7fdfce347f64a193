import type { JSONWebKeySet } from 'jose';
import { MEDIA_TYPES } from '../constants.ts';
import { type EntityStatementClaims, verifyEntityStatement } from '../entity-statement.ts';
import type { FederationFetcher } from '../fetch/federation-fetcher.ts';
import type {
  ChainFinding,
  ResolvedEntity,
  ResolveOptions,
  ResolveResult,
  TrustAnchorConfig,
  TrustChainResolver,
} from '../types.ts';
import { collectTrustChains } from './collect-trust-chains.ts';
import { entityConfigurationUrl, isEntityIdentifier } from './entity-identifier.ts';
import { finding, statementFinding } from './finding.ts';
import { createMemoryTrustChainCache, type TrustChainCache } from './memory-cache.ts';
import { createStatementSource, type StatementSource } from './statement-source.ts';
import { type ValidatedChain, validateTrustChain } from './validate-trust-chain.ts';
import { type IssuerLookup, verifyTrustMarks } from './verify-trust-marks.ts';

export interface TrustChainResolverOptions {
  /** The Trust Anchors and their keys, configured out of band (§10.2, §11.3). */
  trustAnchors: TrustAnchorConfig[];
  fetcher: FederationFetcher;
  /** The only source of time for every iat/exp and cache decision. */
  clock: () => Date;
  /** Most Entity Statements in a chain, subject and Trust Anchor Entity Configurations included. Default 7. */
  maxChainLength?: number;
  /** Where fetched statements and resolved chains are kept until they expire; default an in-memory cache. */
  cache?: TrustChainCache;
  /** Leeway for iat/exp, in seconds. Default 30. */
  clockSkewSeconds?: number;
  /** Most HTTP requests one resolution may make, Trust Mark Issuer chains included. Default 32. */
  maxFetchesPerResolution?: number;
  /** Ask each issuer's Trust Mark Status endpoint, when it publishes one (§8.4). Default true. */
  checkTrustMarkStatus?: boolean;
}

interface Settings {
  anchors: readonly TrustAnchorConfig[];
  fetcher: FederationFetcher;
  clock: () => Date;
  maxChainLength: number;
  cache: TrustChainCache;
  skew: number;
  maxFetches: number;
  checkStatus: boolean;
}

interface Run {
  nowSeconds: number;
  forceRefresh: boolean;
  source: StatementSource;
}

interface CachedEntity {
  entity: ResolvedEntity;
  findings: ChainFinding[];
}

function settingsFrom(options: TrustChainResolverOptions): Settings {
  const fail = (key: string, what: string): never => {
    throw new TypeError(`trust chain resolver: ${key} ${what}`);
  };
  if (!Array.isArray(options.trustAnchors) || options.trustAnchors.length === 0) {
    fail('trustAnchors', 'must list at least one Trust Anchor');
  }
  const seen = new Set<string>();
  for (const [n, anchor] of options.trustAnchors.entries()) {
    if (!isEntityIdentifier(anchor?.entityId))
      fail(`trustAnchors[${n}].entityId`, 'must be an https Entity Identifier');
    if (seen.has(anchor.entityId)) fail(`trustAnchors[${n}].entityId`, 'is configured twice');
    seen.add(anchor.entityId);
    const keys = anchor.jwks?.keys;
    if (
      !Array.isArray(keys) ||
      keys.length === 0 ||
      !keys.every((k) => typeof k.kid === 'string' && k.kid !== '')
    ) {
      fail(`trustAnchors[${n}].jwks`, 'must hold at least one key, each with a kid');
    }
  }
  if (typeof options.fetcher?.fetch !== 'function') fail('fetcher', 'must be a federation fetcher');
  if (typeof options.clock !== 'function') fail('clock', 'must be a function returning the current Date');
  const integer = (key: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) fail(key, `must be an integer >= ${min}`);
    return value;
  };
  return {
    anchors: options.trustAnchors.map((a) => ({ entityId: a.entityId, jwks: structuredClone(a.jwks) })),
    fetcher: options.fetcher,
    clock: options.clock,
    maxChainLength: integer('maxChainLength', options.maxChainLength ?? 7, 2),
    cache: options.cache ?? createMemoryTrustChainCache(),
    skew: integer('clockSkewSeconds', options.clockSkewSeconds ?? 30, 0),
    maxFetches: integer('maxFetchesPerResolution', options.maxFetchesPerResolution ?? 32, 1),
    checkStatus: options.checkTrustMarkStatus ?? true,
  };
}

/**
 * Section numbers throughout are those of OpenID Federation 1.0; the text followed is draft 47 (19 January
 * 2026), the last draft before the final specification, whose anchors (e.g. `trust_chain_validation`) name
 * the same sections.
 *
 * Establishes trust in federation entities (§10): collects the statements from the subject up to a configured
 * Trust Anchor, validates the chain as §10.2 says, resolves its metadata (§6) and verifies its Trust Marks (§7).
 * Bad remote input and network failures are findings, never exceptions. Resolved chains are cached until the
 * earliest expiry among their statements and Trust Marks (§10.4), fetched statements until their own `exp`.
 */
export function createTrustChainResolver(options: TrustChainResolverOptions): TrustChainResolver {
  const settings = settingsFrom(options);
  const inFlight = new Map<string, Promise<ResolveResult>>();

  const nowSeconds = () => Math.floor(settings.clock().getTime() / 1000);

  function newRun(forceRefresh: boolean): Run {
    const now = nowSeconds();
    return {
      nowSeconds: now,
      forceRefresh,
      source: createStatementSource({
        fetcher: settings.fetcher,
        cache: settings.cache,
        nowSeconds: now,
        clockSkewSeconds: settings.skew,
        forceRefresh,
        maxFetches: settings.maxFetches,
      }),
    };
  }

  function anchorsFor(requested: string | undefined): readonly TrustAnchorConfig[] | ChainFinding {
    if (requested === undefined) return settings.anchors;
    const anchor = settings.anchors.find((a) => a.entityId === requested);
    return anchor
      ? [anchor]
      : finding('§10.1', 'invalid_trust_anchor', `${requested} is not a configured Trust Anchor`, requested);
  }

  /** The Trust Anchor's Entity Configuration, from the chain or fetched and verified with the configured keys. */
  async function anchorConfiguration(
    chain: ValidatedChain,
    run: Run,
  ): Promise<{ ok: true; configuration: EntityStatementClaims } | { ok: false; finding: ChainFinding }> {
    if (chain.anchorConfiguration) return { ok: true, configuration: chain.anchorConfiguration };
    const entityId = chain.anchor.entityId;
    try {
      const { body } = await settings.fetcher.fetch({
        url: entityConfigurationUrl(entityId),
        accept: MEDIA_TYPES.entityStatement,
      });
      const { payload } = await verifyEntityStatement(body.trim(), chain.anchor.jwks as JSONWebKeySet, {
        now: new Date(run.nowSeconds * 1000),
        clockSkewSeconds: settings.skew,
      });
      if (payload.iss !== entityId || payload.sub !== entityId) {
        return {
          ok: false,
          finding: finding(
            '§7',
            'trust_anchor_mismatch',
            'the Trust Anchor Entity Configuration is about another entity',
            entityId,
          ),
        };
      }
      return { ok: true, configuration: payload };
    } catch (err) {
      return {
        ok: false,
        finding: statementFinding(err, 'Trust Anchor Entity Configuration (for Trust Marks)', entityId),
      };
    }
  }

  async function finish(
    chain: ValidatedChain,
    findings: ChainFinding[],
    run: Run,
    withTrustMarks: boolean,
  ): Promise<ResolveResult> {
    const subject = chain.statements[0]!;
    const entity: ResolvedEntity = {
      entityId: subject.sub,
      trustAnchor: chain.anchor.entityId,
      trustChain: chain.trustChain,
      statements: chain.statements,
      expiresAt: chain.expiresAt,
      metadata: chain.metadata,
      trustMarks: [],
    };
    if (!withTrustMarks || (subject.trust_marks ?? []).length === 0) return { ok: true, entity, findings };
    const anchorResult = await anchorConfiguration(chain, run);
    if (!anchorResult.ok) return { ok: true, entity, findings: [...findings, anchorResult.finding] };
    const anchorEc = anchorResult.configuration;

    const issuers = new Map<string, ReturnType<IssuerLookup>>();
    const issuer: IssuerLookup = (iss) => {
      let pending = issuers.get(iss);
      if (pending === undefined) {
        pending = (async () => {
          if (iss === chain.anchor.entityId) return { ok: true, configuration: anchorEc };
          if (iss === subject.sub) return { ok: true, configuration: subject };
          const r = await resolveCached(
            iss,
            [chain.anchor],
            chain.anchor.entityId,
            undefined,
            run.forceRefresh,
            false,
          );
          return r.ok
            ? { ok: true, configuration: r.entity.statements[0]! }
            : { ok: false, findings: r.findings };
        })();
        issuers.set(iss, pending);
      }
      return pending;
    };
    const marks = await verifyTrustMarks({
      subject,
      anchorConfiguration: anchorEc,
      issuer,
      fetcher: settings.fetcher,
      checkStatus: settings.checkStatus,
      nowSeconds: run.nowSeconds,
      clockSkewSeconds: settings.skew,
    });
    entity.trustMarks = marks.trustMarks;
    return { ok: true, entity, findings: [...findings, ...marks.findings] };
  }

  async function resolveUncached(
    entityId: string,
    anchors: readonly TrustAnchorConfig[],
    entityType: string | undefined,
    forceRefresh: boolean,
    withTrustMarks: boolean,
  ): Promise<ResolveResult> {
    const run = newRun(forceRefresh);
    const findings: ChainFinding[] = [];
    for await (const candidate of collectTrustChains(
      entityId,
      anchors,
      run.source,
      settings.maxChainLength,
      findings,
    )) {
      const validation = await validateTrustChain(candidate.trustChain, {
        anchors: [candidate.anchor],
        nowSeconds: run.nowSeconds,
        clockSkewSeconds: settings.skew,
        entityType,
      });
      // §10.1: every path is validated independently; the first valid one (shortest, §10.3) is used.
      if (validation.ok) return finish(validation.chain, findings, run, withTrustMarks);
      findings.push(...validation.findings);
    }
    const names = anchors.map((a) => a.entityId).join(', ');
    findings.push(
      finding('§10.1', 'no_trust_chain', `no valid Trust Chain from ${entityId} to ${names}`, entityId),
    );
    return { ok: false, findings };
  }

  function cacheExpiry(entity: ResolvedEntity): number {
    return Math.min(
      entity.expiresAt,
      ...entity.trustMarks.flatMap((m) => (m.exp === undefined ? [] : [m.exp])),
    );
  }

  async function resolveCached(
    entityId: string,
    anchors: readonly TrustAnchorConfig[],
    requestedAnchor: string | undefined,
    entityType: string | undefined,
    forceRefresh: boolean,
    withTrustMarks: boolean,
  ): Promise<ResolveResult> {
    const key = `chain|${entityId}|${requestedAnchor ?? '*'}|${entityType ?? '*'}|${withTrustMarks ? 'marks' : 'bare'}`;
    if (!forceRefresh) {
      const hit = settings.cache.get(key, nowSeconds()) as CachedEntity | undefined;
      if (hit !== undefined) return { ok: true, ...structuredClone(hit) };
    }
    const flightKey = `${key}|${forceRefresh}`;
    let pending = inFlight.get(flightKey);
    if (pending === undefined) {
      pending = resolveUncached(entityId, anchors, entityType, forceRefresh, withTrustMarks)
        .then((result) => {
          if (result.ok) {
            const cached: CachedEntity = { entity: result.entity, findings: result.findings };
            settings.cache.set(key, structuredClone(cached), cacheExpiry(result.entity));
          }
          return result;
        })
        .finally(() => inFlight.delete(flightKey));
      inFlight.set(flightKey, pending);
    }
    return structuredClone(await pending);
  }

  return {
    async resolve(entityId, resolveOptions: ResolveOptions = {}) {
      if (!isEntityIdentifier(entityId)) {
        return {
          ok: false,
          findings: [finding('§1.2', 'invalid_entity_id', 'not an https Entity Identifier')],
        };
      }
      const anchors = anchorsFor(resolveOptions.trustAnchor);
      if (!Array.isArray(anchors)) return { ok: false, findings: [anchors as ChainFinding] };
      return resolveCached(
        entityId,
        anchors,
        resolveOptions.trustAnchor,
        resolveOptions.entityType,
        resolveOptions.forceRefresh === true,
        true,
      );
    },

    async validateChain(trustChain, resolveOptions: ResolveOptions = {}) {
      const anchors = anchorsFor(resolveOptions.trustAnchor);
      if (!Array.isArray(anchors)) return { ok: false, findings: [anchors as ChainFinding] };
      const run = newRun(resolveOptions.forceRefresh === true);
      const validation = await validateTrustChain(trustChain, {
        anchors,
        nowSeconds: run.nowSeconds,
        clockSkewSeconds: settings.skew,
        entityType: resolveOptions.entityType,
      });
      if (!validation.ok) return validation;
      // Nothing of the chain is fetched; only Trust Mark evaluation may (issuer chains, §7.3; status, §8.4).
      return finish(validation.chain, [], run, true);
    },
  };
}
