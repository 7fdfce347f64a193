import type { Kysely } from 'kysely';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../../storage/index.ts';
import type { TrustChainResolver } from '../types.ts';
import { type FederationEndpoint, federationEndpointUrls } from './endpoint-urls.ts';
import type { FederationKeyStore } from './federation-key-store.ts';
import { DatabaseFederationKeyStore } from './federation-keys.ts';
import type { TrustMarkTypeConfig } from './trust-mark-store.ts';

export interface FederationAuthorityOptions {
  db: Kysely<Database>;
  /** Key-encryption key the federation signing keys are stored under. */
  kek: string;
  /** Where the federation signing keys live; default the `signing_keys` table under `kek`. */
  keys?: FederationKeyStore | undefined;
  clock: Clock;
  /** The platform's Entity Identifier (default in config: publicUrl). */
  entityId: string;
  /** Immediate Superiors when the platform is an Intermediate (§3.1.2); empty for a Trust Anchor. */
  authorityHints?: readonly string[] | undefined;
  /** Lifetime of every statement the platform signs, and the overlap a retired key stays published. */
  statementLifetimeSeconds: number;
  /** Trust Mark types the platform issues (advertised in trust_mark_issuers). */
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  /** Trust Anchors the resolve endpoint resolves to; anything else is invalid_trust_anchor. */
  trustAnchors?: readonly string[] | undefined;
  /** The resolve endpoint exists only with a resolver. */
  resolver?: TrustChainResolver | undefined;
  /** Development only: http:// Entity Identifiers on loopback hosts are accepted. */
  allowHttpLoopback?: boolean | undefined;
  /**
   * Metadata of the other roles this entity plays, by Entity Type (e.g. `openid_provider` when the platform's
   * authorization server shares its Entity Identifier, which §4.1 allows for an OP that is also an authority).
   */
  additionalMetadata?: Record<string, Record<string, unknown>> | undefined;
}

/** The platform acting as Trust Anchor / Intermediate: configuration, keys and endpoint URLs, shared by handlers. */
export interface FederationAuthority {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly entityId: string;
  readonly authorityHints: readonly string[];
  readonly statementLifetimeSeconds: number;
  readonly trustMarkTypes: readonly TrustMarkTypeConfig[];
  readonly trustAnchors: readonly string[] | undefined;
  readonly resolver: TrustChainResolver | undefined;
  readonly allowHttpLoopback: boolean;
  readonly additionalMetadata: Record<string, Record<string, unknown>>;
  readonly keys: FederationKeyStore;
  readonly urls: Record<FederationEndpoint, string>;
  /** Endpoints this authority serves (resolve only with a resolver). */
  readonly endpoints: readonly FederationEndpoint[];
}

export function createFederationAuthority(options: FederationAuthorityOptions): FederationAuthority {
  const endpoints = (Object.keys(federationEndpointUrls(options.entityId)) as FederationEndpoint[]).filter(
    (e) => e !== 'resolve' || options.resolver !== undefined,
  );
  return {
    db: options.db,
    clock: options.clock,
    entityId: options.entityId,
    authorityHints: [...(options.authorityHints ?? [])],
    statementLifetimeSeconds: options.statementLifetimeSeconds,
    trustMarkTypes: options.trustMarkTypes,
    trustAnchors: options.trustAnchors,
    resolver: options.resolver,
    allowHttpLoopback: options.allowHttpLoopback === true,
    additionalMetadata: options.additionalMetadata ?? {},
    keys:
      options.keys ??
      new DatabaseFederationKeyStore(options.db, options.kek, options.statementLifetimeSeconds),
    urls: federationEndpointUrls(options.entityId),
    endpoints,
  };
}

export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
