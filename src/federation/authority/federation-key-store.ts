import type { JSONWebKeySet, JWK } from 'jose';
import type { FederationSigner } from '../federation-signer.ts';

/** §8.7.3: reasons a Federation Entity Key was revoked. */
export const KEY_REVOCATION_REASONS = ['unspecified', 'compromised', 'superseded'] as const;
export type KeyRevocationReason = (typeof KEY_REVOCATION_REASONS)[number];

/** A historical key entry (§8.7.2): the public JWK with iat, exp and, when revoked, revoked {revoked_at, reason}. */
export interface HistoricalKey extends JWK {
  iat: number;
  exp: number;
  revoked?: { revoked_at: number; reason?: string };
}

/**
 * The platform's Federation Entity Keys as the authority uses them: the one that signs, the ones the Entity
 * Configuration publishes and the historical ones. Only public halves ever leave it. Every implementation passes
 * `test/federation/contracts/federation-key-store.contract.ts`.
 */
export interface FederationKeyStore {
  /** The newest active key; statements are signed with it and nothing else. Throws `no_federation_key` if none. */
  signer(): Promise<FederationSigner>;
  /** The `jwks` of the Entity Configuration: active keys plus retired ones still inside their overlap. */
  publishedJwks(now: Date): Promise<JSONWebKeySet>;
  /** Every key that no longer signs, for the historical keys endpoint (§8.7). */
  historicalKeys(): Promise<HistoricalKey[]>;
  /** Keys a statement of ours may have been signed with and still be trusted: active and retired, never revoked. */
  verificationJwks(): Promise<JSONWebKeySet>;
}
