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
import { createMemoryTrustChainCache } from './memory-trust-chain-cache.ts';
import { createVerificationMemo, type VerificationMemo } from './signature-cache.ts';
import { createStatementSource, type StatementSource } from './statement-source.ts';
import type { TrustChainCache } from './trust-chain-cache.ts';
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
  /**
   * Refresh ahead of expiry: a cached chain requested within this fraction of its lifetime (from its resolution
   * to its expiry) before it expires is served from the cache and resolved again in the background, once at a
   * time, so callers never wait for its expiry's cold resolution. 0 turns it off. Default 0.1.
   */
  refreshAheadRatio?: number;
  /** The refresh-ahead margin never exceeds this many seconds. Default 300. */
  refreshAheadMaxSeconds?: number;
  /** Signature results kept, by (JWT, key thumbprint), so that a statement is verified once per key. Default 4096. */
  maxVerifiedSignatures?: number;
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
  refreshAheadRatio: number;
  refreshAheadMaxSeconds: number;
  signatureMemo: VerificationMemo;
}

/**
 * One resolution, the chains of its Trust Mark Issuers included: one time, one statement source (each statement
 * fetched at most once, one request budget), one meaning of forceRefresh.
 */
interface Run {
  nowSeconds: number;
  forceRefresh: boolean;
  source: StatementSource;
}

interface CachedEntity {
  entity: ResolvedEntity;
  findings: ChainFinding[];
  /** When it was resolved and when it leaves the cache (seconds): its lifetime, for refreshing ahead. */
  resolvedAt: number;
  expiresAt: number;
}

/** A failed background refresh is not tried again for this long (seconds), nor past the chain's expiry. */
const REFRESH_RETRY_SECONDS = 30;

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
  const ratio = (key: string, value: number) => {
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail(key, 'must be a number >= 0 and < 1');
    return value;
  };
  return {
    anchors: options.trustAnchors.map((a) => ({
      entityId: a.entityId,
      jwks: structuredClone(a.jwks),
      ...(a.keysAreCurrent === true ? { keysAreCurrent: true } : {}),
    })),
    fetcher: options.fetcher,
    clock: options.clock,
    maxChainLength: integer('maxChainLength', options.maxChainLength ?? 7, 2),
    cache: options.cache ?? createMemoryTrustChainCache(),
    skew: integer('clockSkewSeconds', options.clockSkewSeconds ?? 30, 0),
    maxFetches: integer('maxFetchesPerResolution', options.maxFetchesPerResolution ?? 32, 1),
    checkStatus: options.checkTrustMarkStatus ?? true,
    refreshAheadRatio: ratio('refreshAheadRatio', options.refreshAheadRatio ?? 0.1),
    refreshAheadMaxSeconds: integer('refreshAheadMaxSeconds', options.refreshAheadMaxSeconds ?? 300, 0),
    signatureMemo: createVerificationMemo(
      integer('maxVerifiedSignatures', options.maxVerifiedSignatures ?? 4096, 1),
    ),
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
 * earliest expiry among their statements and Trust Marks (§10.4), fetched statements until their own `exp`;
 * a cached chain close to its expiry is refreshed in the background. A resolution fetches each statement at
 * most once, its Trust Mark Issuers' chains included, and verifies each (statement, key) pair once.
 */
export function createTrustChainResolver(options: TrustChainResolverOptions): TrustChainResolver {
  const settings = settingsFrom(options);
  /**
   * Resolutions under way, by chain and forceRefresh: later callers join them. The result goes to the caller that
   * started it; joiners get copies of a pristine copy (the one cached), never of what a caller may have changed.
   */
  const inFlight = new Map<string, Promise<{ result: ResolveResult; pristine: ResolveResult }>>();
  /** Chains whose background refresh failed, by cache key: not tried again before this time (seconds). */
  const refreshBackoff = new Map<string, number>();

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
        signatureMemo: settings.signatureMemo,
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

  function chainKey(
    entityId: string,
    requestedAnchor: string | undefined,
    entityType: string | undefined,
    withTrustMarks: boolean,
  ): string {
    return `chain|${entityId}|${requestedAnchor ?? '*'}|${entityType ?? '*'}|${withTrustMarks ? 'marks' : 'bare'}`;
  }

  function cacheExpiry(entity: ResolvedEntity): number {
    return Math.min(
      entity.expiresAt,
      ...entity.trustMarks.flatMap((m) => (m.exp === undefined ? [] : [m.exp])),
    );
  }

  function cached(key: string, now: number): CachedEntity | undefined {
    return settings.cache.get(key, now) as CachedEntity | undefined;
  }

  /** Caches a valid result (as a copy) and returns that copy, which must not be handed out as it is. */
  function store(key: string, result: ResolveResult, resolvedAt: number): ResolveResult {
    if (!result.ok) return structuredClone(result);
    const entry: CachedEntity = structuredClone({
      entity: result.entity,
      findings: result.findings,
      resolvedAt,
      expiresAt: cacheExpiry(result.entity),
    });
    settings.cache.set(key, entry, entry.expiresAt);
    return { ok: true, entity: entry.entity, findings: entry.findings };
  }

  const fromCache = (hit: CachedEntity): ResolveResult => {
    const { entity, findings } = structuredClone(hit);
    return { ok: true, entity, findings };
  };

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
        signatureMemo: settings.signatureMemo,
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

  /**
   * The chain of a Trust Mark Issuer to `anchor` (§7.3), within the run that needs it: from the chain cache unless
   * the run is forced, else collected from the run's own statements (those of the subject's chain are not fetched
   * again) and cached.
   */
  async function issuerChain(issuer: string, anchor: TrustAnchorConfig, run: Run): Promise<ResolveResult> {
    const key = chainKey(issuer, anchor.entityId, undefined, false);
    if (!run.forceRefresh) {
      const hit = cached(key, run.nowSeconds);
      if (hit !== undefined) return fromCache(hit);
    }
    const result = await resolveInRun(issuer, [anchor], undefined, false, run);
    if (result.ok) store(key, result, run.nowSeconds);
    return result;
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
          const r = await issuerChain(iss, chain.anchor, run);
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
      signatureMemo: settings.signatureMemo,
    });
    entity.trustMarks = marks.trustMarks;
    return { ok: true, entity, findings: [...findings, ...marks.findings] };
  }

  async function resolveInRun(
    entityId: string,
    anchors: readonly TrustAnchorConfig[],
    entityType: string | undefined,
    withTrustMarks: boolean,
    run: Run,
  ): Promise<ResolveResult> {
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
        signatureMemo: settings.signatureMemo,
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

  /**
   * Starts one background resolution of a cached chain within its refresh-ahead margin, unless one is under
   * way (a forced resolution of the same chain, background or not) or the last one failed moments ago.
   */
  function refreshAhead(key: string, hit: CachedEntity, now: number, refresh: () => Promise<ResolveResult>) {
    if (settings.refreshAheadRatio === 0 || typeof hit.resolvedAt !== 'number') return;
    const margin = Math.min(
      settings.refreshAheadMaxSeconds,
      Math.floor((hit.expiresAt - hit.resolvedAt) * settings.refreshAheadRatio),
    );
    if (margin <= 0 || now < hit.expiresAt - margin) return;
    if (inFlight.has(`${key}|true`)) return;
    const backoff = refreshBackoff.get(key);
    if (backoff !== undefined && now < backoff) return;
    refreshBackoff.delete(key);
    refresh()
      .then(
        (result) => result.ok,
        () => false,
      )
      .then((ok) => {
        if (ok) return;
        // The cached chain stays valid until it expires; try again a little later, not on every request.
        if (refreshBackoff.size >= 1000) refreshBackoff.clear();
        refreshBackoff.set(key, Math.min(hit.expiresAt, now + REFRESH_RETRY_SECONDS));
      });
  }

  async function resolveCached(
    entityId: string,
    anchors: readonly TrustAnchorConfig[],
    requestedAnchor: string | undefined,
    entityType: string | undefined,
    forceRefresh: boolean,
  ): Promise<ResolveResult> {
    const key = chainKey(entityId, requestedAnchor, entityType, true);
    if (!forceRefresh) {
      const now = nowSeconds();
      const hit = cached(key, now);
      if (hit !== undefined) {
        refreshAhead(key, hit, now, () =>
          resolveCached(entityId, anchors, requestedAnchor, entityType, true),
        );
        return fromCache(hit);
      }
    }
    const flightKey = `${key}|${forceRefresh}`;
    const joined = inFlight.get(flightKey);
    if (joined !== undefined) return structuredClone((await joined).pristine);
    const run = newRun(forceRefresh);
    const flight = resolveInRun(entityId, anchors, entityType, true, run)
      .then((result) => ({ result, pristine: store(key, result, run.nowSeconds) }))
      .finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, flight);
    return (await flight).result;
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
        signatureMemo: settings.signatureMemo,
        subjectIsRegistrationRequest: resolveOptions.subjectIsRegistrationRequest === true,
      });
      if (!validation.ok) return validation;
      // Nothing of the chain is fetched; only Trust Mark evaluation may (issuer chains, §7.3; status, §8.4).
      return finish(validation.chain, [], run, true);
    },
  };
}
