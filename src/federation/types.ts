import type { JSONWebKeySet } from 'jose';
import type { EntityStatementClaims } from './entity-statement.ts';

/** A Trust Anchor the platform trusts: its Entity Identifier and the keys configured out of band (§10.1). */
export interface TrustAnchorConfig {
  entityId: string;
  jwks: JSONWebKeySet;
  /**
   * The configured keys are the anchor's complete, current key set (the platform as its own Trust Anchor):
   * its statement about the top-most subordinate must verify with them, so an older Entity Configuration
   * carried in a chain cannot vouch for a key since revoked. Otherwise (keys pinned out of band) a key the
   * anchor's configuration introduces is accepted, which is how a foreign anchor rolls its keys over.
   */
  keysAreCurrent?: boolean;
}

/** One thing wrong with a chain, with the specification step it failed (e.g. "§10.2 step 3"). */
export interface ChainFinding {
  step: string;
  code: string;
  message: string;
  entityId?: string;
}

/** A Trust Mark that verified: signature, issuer authorised by the Trust Anchor, expiry, status (§7). */
export interface VerifiedTrustMark {
  trust_mark_type: string;
  trust_mark: string;
  iss: string;
  sub: string;
  iat: number;
  exp?: number;
}

/** A leaf resolved through a valid Trust Chain, its metadata with every policy of the chain applied. */
export interface ResolvedEntity {
  entityId: string;
  trustAnchor: string;
  /** The chain as compact JWTs, leaf Entity Configuration first, Trust Anchor's last (§4). */
  trustChain: string[];
  statements: EntityStatementClaims[];
  /** Earliest `exp` of every statement in the chain, in seconds since the epoch (§10.4). */
  expiresAt: number;
  /** Resolved metadata by Entity Type. */
  metadata: Record<string, Record<string, unknown>>;
  trustMarks: VerifiedTrustMark[];
}

export type ResolveResult =
  | { ok: true; entity: ResolvedEntity; findings: ChainFinding[] }
  | { ok: false; findings: ChainFinding[] };

export interface ResolveOptions {
  /** Only chains ending at this Trust Anchor. */
  trustAnchor?: string;
  /** Only this Entity Type's metadata is resolved and returned. */
  entityType?: string;
  /** Bypass cached chains and statements. */
  forceRefresh?: boolean;
  /**
   * `validateChain` only: ES[0] is an explicit registration request, which may carry a `trust_chain` header
   * (§12.2.1); every other Entity Statement of a chain must not.
   */
  subjectIsRegistrationRequest?: boolean;
}

/** What the resolve endpoint, the CLI and the authorization server use to establish trust in an entity. */
export interface TrustChainResolver {
  resolve(entityId: string, options?: ResolveOptions): Promise<ResolveResult>;
  /** Validates a chain the caller supplied (explicit registration with application/trust-chain+json, §12.2). */
  validateChain(trustChain: string[], options?: ResolveOptions): Promise<ResolveResult>;
}
