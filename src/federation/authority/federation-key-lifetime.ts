import type { JWK } from 'jose';
import type { HistoricalKey } from './federation-key-store.ts';

/** What the lifetime rules need of a stored federation key, whichever store holds it. */
export interface FederationKeyRecord {
  kid: string;
  status: 'active' | 'retired' | 'revoked';
  created_at: string;
  retired_at?: string | null | undefined;
  revoked_at?: string | null | undefined;
  revocation_reason?: string | null | undefined;
  /** The public JWK as JSON. */
  public_jwk: string;
}

export const epochSecondsOf = (iso: string): number => Math.floor(new Date(iso).getTime() / 1000);

/**
 * A retired key stays valid for one statement lifetime after retirement, the longest any statement it signed
 * can live; a revoked key stops at revocation (§8.7.2 `exp`: after it the key MUST NOT be considered valid).
 */
export function federationKeyExpiry(key: FederationKeyRecord, lifetimeSeconds: number): number | undefined {
  if (key.status === 'active') return undefined;
  const retired = key.retired_at ? epochSecondsOf(key.retired_at) + lifetimeSeconds : undefined;
  const revoked = key.revoked_at ? epochSecondsOf(key.revoked_at) : undefined;
  const candidates = [retired, revoked].filter((v): v is number => v !== undefined);
  return candidates.length > 0 ? Math.min(...candidates) : epochSecondsOf(key.created_at);
}

/** In the Entity Configuration's jwks now: active, or retired less than a statement lifetime ago. */
export function isFederationKeyPublished(
  key: FederationKeyRecord,
  now: Date,
  lifetimeSeconds: number,
): boolean {
  if (key.status === 'active') return true;
  if (key.status !== 'retired') return false;
  const exp = federationKeyExpiry(key, lifetimeSeconds);
  return exp !== undefined && exp > Math.floor(now.getTime() / 1000);
}

/** The §8.7.2 entry of a key that no longer signs. */
export function historicalKeyEntry(key: FederationKeyRecord, lifetimeSeconds: number): HistoricalKey {
  const entry: HistoricalKey = {
    ...(JSON.parse(key.public_jwk) as JWK),
    iat: epochSecondsOf(key.created_at),
    exp: federationKeyExpiry(key, lifetimeSeconds)!,
  };
  if (key.revoked_at) {
    entry.revoked = {
      revoked_at: epochSecondsOf(key.revoked_at),
      ...(key.revocation_reason ? { reason: key.revocation_reason } : {}),
    };
  }
  return entry;
}
