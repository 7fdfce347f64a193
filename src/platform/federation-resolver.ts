import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import {
  createTrustChainResolver,
  type FederationFetcher,
  type ResolveOptions,
  type ResolveResult,
  type TrustAnchorConfig,
  type TrustChainResolver,
} from '../federation/index.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigError, type FederationConfig } from './config.ts';

export interface PlatformResolver extends TrustChainResolver {
  /** The same resolver without the per-entity refresh throttle: for authenticated operators' diagnostics. */
  operator: TrustChainResolver;
}

/** Limits on the work unauthenticated requests can make the platform do on other servers' behalf. */
export interface ResolutionLimits {
  /** Resolutions running at once; more wait in line. */
  concurrent: number;
  /** Resolutions waiting; beyond this a resolution is refused at once (a finding, not an exception). */
  queued: number;
  /** A second forced refresh of the same entity within this window is refused. */
  forcedRefreshIntervalMs: number;
  /** The caller gets an answer by then (a finding); the work itself keeps its slot until it ends. */
  deadlineMs: number;
}

export const DEFAULT_RESOLUTION_LIMITS: ResolutionLimits = {
  concurrent: 8,
  queued: 64,
  forcedRefreshIntervalMs: 10_000,
  deadlineMs: 20_000,
};

const TIMED_OUT: ResolveResult = {
  ok: false,
  findings: [
    {
      step: '§10.1',
      code: 'temporarily_unavailable',
      message: 'the trust chain could not be resolved in time; try again shortly',
    },
  ],
};

const BUSY: ResolveResult = {
  ok: false,
  findings: [
    {
      step: '§10.1',
      code: 'temporarily_unavailable',
      message: 'too many trust chain resolutions in progress; try again shortly',
    },
  ],
};

const TOO_SOON: ResolveResult = {
  ok: false,
  findings: [
    {
      step: '§10.1',
      code: 'temporarily_unavailable',
      message: 'this entity was resolved afresh moments ago; try again shortly',
    },
  ],
};

/**
 * Bounds outbound federation traffic whatever triggers it (registration requests, PAR and authorization
 * requests are unauthenticated): a fixed number of resolutions in flight, a bounded queue, and forced
 * refreshes of one entity at most once per interval (a second one in the interval is refused, never answered
 * from a cache that may predate a broken chain).
 */
export function limitResolutions(
  inner: TrustChainResolver,
  limits: ResolutionLimits,
  now: () => number,
): TrustChainResolver {
  let running = 0;
  const waiting: Array<() => void> = [];
  const lastForced = new Map<string, number>();
  async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limits.concurrent) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  }
  function slot(work: () => Promise<ResolveResult>, busy: ResolveResult): Promise<ResolveResult> {
    if (running >= limits.concurrent && waiting.length >= limits.queued) return Promise.resolve(busy);
    const done = run(work);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ResolveResult>((resolve) => {
      timer = setTimeout(resolve, limits.deadlineMs, TIMED_OUT);
      timer.unref();
    });
    return Promise.race([done, late]).finally(() => clearTimeout(timer));
  }
  /** Whether a forced refresh may go ahead now; never silently downgraded to a cached (possibly stale) chain. */
  function mayForce(key: string, opts: ResolveOptions | undefined): boolean {
    if (!opts?.forceRefresh) return true;
    const t = now();
    const last = lastForced.get(key);
    if (last !== undefined && t - last < limits.forcedRefreshIntervalMs) return false;
    lastForced.set(key, t);
    if (lastForced.size > 10_000) lastForced.delete(lastForced.keys().next().value as string);
    return true;
  }
  return {
    // Keyed by entity alone: a different trust anchor or entity type is no way around the interval.
    resolve: (entityId, opts) =>
      mayForce(entityId, opts) ? slot(() => inner.resolve(entityId, opts), BUSY) : Promise.resolve(TOO_SOON),
    validateChain: (chain, opts) => slot(() => inner.validateChain(chain, opts), BUSY),
  };
}

function anchorKeys(path: string, entityId: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `federation.trustAnchors: ${path} (for ${entityId}) is not a readable JSON JWK Set: ${(err as Error).message}`,
    );
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`federation.trustAnchors: ${path} (for ${entityId}) holds no keys`);
  }
  return parsed as JSONWebKeySet;
}

/**
 * The platform's Trust Chain resolver. Trust Anchor keys come from configuration, out of band (§10.2):
 * a jwksFile for foreign anchors, the platform's own published keys when it is the anchor itself — read
 * again on every resolution so that a key rotation is followed without a restart.
 */
export function createPlatformResolver(options: {
  federation: FederationConfig;
  /** The platform's own published federation keys, when it is one of the Trust Anchors. */
  ownJwks: (now: Date) => Promise<JSONWebKeySet>;
  /** The platform's partner fetcher (its address policy and limits); closed by whoever created it. */
  fetcher: FederationFetcher;
  clock: Clock;
  limits?: ResolutionLimits;
}): PlatformResolver {
  const { federation, clock } = options;
  const foreign: TrustAnchorConfig[] = [];
  let selfAnchor = false;
  for (const anchor of federation.trustAnchors) {
    if (anchor.entityId === federation.entityId && anchor.jwksFile === undefined) {
      selfAnchor = true;
    } else if (anchor.jwksFile === undefined) {
      throw new ConfigError(
        `federation.trustAnchors: ${anchor.entityId} needs a jwksFile (its keys are configured out of band, §10.2)`,
      );
    } else {
      foreign.push({ entityId: anchor.entityId, jwks: anchorKeys(anchor.jwksFile, anchor.entityId) });
    }
  }
  const { fetcher } = options;
  let current: { kids: string; resolver: TrustChainResolver } | undefined;

  async function resolver(): Promise<TrustChainResolver> {
    const anchors = [...foreign];
    let kids = '';
    if (selfAnchor) {
      const jwks = await options.ownJwks(clock());
      kids = jwks.keys.map((k) => k.kid).join(' ');
      anchors.push({ entityId: federation.entityId, jwks, keysAreCurrent: true });
    }
    if (!current || current.kids !== kids) {
      // A fresh cache too: chains validated against a retired or revoked anchor key are not reused.
      current = { kids, resolver: createTrustChainResolver({ trustAnchors: anchors, fetcher, clock }) };
    }
    return current.resolver;
  }

  const direct: TrustChainResolver = {
    resolve: async (entityId, opts) => (await resolver()).resolve(entityId, opts),
    validateChain: async (chain, opts) => (await resolver()).validateChain(chain, opts),
  };
  const limits = options.limits ?? DEFAULT_RESOLUTION_LIMITS;
  const limited = limitResolutions(direct, limits, () => clock().getTime());
  return {
    ...limited,
    operator: limitResolutions(direct, { ...limits, forcedRefreshIntervalMs: 0 }, () => clock().getTime()),
  };
}
