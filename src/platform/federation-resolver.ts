import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { JSONWebKeySet } from 'jose';
import {
  createFederationFetcher,
  createTrustChainResolver,
  type ResolveOptions,
  type TrustAnchorConfig,
  type TrustChainResolver,
} from '../federation/index.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigError, type FederationConfig } from './config.ts';

export interface PlatformResolver extends TrustChainResolver {
  close(): Promise<void>;
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
  /** PEM of the platform CA: entities served by this platform (and loopback test entities) chain to it. */
  caPem: string;
  clock: Clock;
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
  const fetcher = createFederationFetcher({
    timeoutMs: federation.fetch.timeoutMs,
    maxResponseBytes: federation.fetch.maxBytes,
    maxRedirects: federation.fetch.maxRedirects,
    allowLoopback: federation.fetch.allowLoopback,
    allowPrivateNetworks: federation.fetch.allowPrivateNetworks,
    ca: [
      ...rootCertificates,
      options.caPem,
      ...(federation.fetch.caFile ? [readFileSync(federation.fetch.caFile, 'utf8')] : []),
    ],
  });
  let current: { kids: string; resolver: TrustChainResolver } | undefined;

  async function resolver(): Promise<TrustChainResolver> {
    const anchors = [...foreign];
    let kids = '';
    if (selfAnchor) {
      const jwks = await options.ownJwks(clock());
      kids = jwks.keys.map((k) => k.kid).join(' ');
      anchors.push({ entityId: federation.entityId, jwks });
    }
    if (!current || current.kids !== kids) {
      // A fresh cache too: chains validated against a retired or revoked anchor key are not reused.
      current = { kids, resolver: createTrustChainResolver({ trustAnchors: anchors, fetcher, clock }) };
    }
    return current.resolver;
  }

  return {
    async resolve(entityId: string, opts?: ResolveOptions) {
      return (await resolver()).resolve(entityId, opts);
    },
    async validateChain(chain: string[], opts?: ResolveOptions) {
      return (await resolver()).validateChain(chain, opts);
    },
    close: () => fetcher.close(),
  };
}
