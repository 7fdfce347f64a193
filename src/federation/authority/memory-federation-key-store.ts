import { calculateJwkThumbprint, exportJWK, type JSONWebKeySet, type JWK } from 'jose';
import { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm } from '../../pki/index.ts';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { createFederationSigner, type FederationSigner } from '../federation-signer.ts';
import {
  type FederationKeyRecord,
  historicalKeyEntry,
  isFederationKeyPublished,
} from './federation-key-lifetime.ts';
import {
  type FederationKeyStore,
  type HistoricalKey,
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
} from './federation-key-store.ts';

interface MemoryKey extends FederationKeyRecord {
  signer: FederationSigner;
}

/**
 * Federation keys held in this process only, private halves never serialised: for tests and for an authority
 * whose keys need not outlive it. Rotation and revocation follow the same rules as the database store.
 */
export class MemoryFederationKeyStore implements FederationKeyStore {
  readonly #lifetimeSeconds: number;
  /** Newest first, as the database store orders them. */
  readonly #keys: MemoryKey[] = [];

  constructor(statementLifetimeSeconds: number) {
    this.#lifetimeSeconds = statementLifetimeSeconds;
  }

  /** Makes a new active key (default: the current one's algorithm, else ES256) and retires the others. */
  async rotate(now: Date, alg?: string): Promise<string> {
    const chosen = alg ?? this.#keys.find((k) => k.status === 'active')?.signer.alg ?? 'ES256';
    if (!(KEY_ALGORITHMS as readonly string[]).includes(chosen)) {
      throw invalidInput(`alg must be one of ${KEY_ALGORITHMS.join(', ')}`, { field: 'alg' });
    }
    const { privateKey, publicKey } = generateKeyPair(chosen as KeyAlgorithm);
    const jwk = await exportJWK(publicKey);
    // §3.1.1: it is RECOMMENDED that the kid be the RFC 7638 thumbprint of the key.
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const at = now.toISOString();
    for (const key of this.#keys)
      if (key.status === 'active') Object.assign(key, { status: 'retired', retired_at: at });
    this.#keys.unshift({
      kid,
      status: 'active',
      created_at: at,
      public_jwk: JSON.stringify({ ...jwk, kid, alg: chosen, use: 'sig' }),
      signer: createFederationSigner(privateKey, kid, chosen),
    });
    return kid;
  }

  /** Revokes a retired key (§8.7.3); the active key cannot be, so that there is always one to sign with. */
  revoke(kid: string, reason: KeyRevocationReason, now: Date): void {
    if (!(KEY_REVOCATION_REASONS as readonly string[]).includes(reason)) {
      throw invalidInput(`reason must be one of ${KEY_REVOCATION_REASONS.join(', ')}`, { field: 'reason' });
    }
    const key = this.#keys.find((k) => k.kid === kid);
    if (!key) throw notFound('federation key', kid);
    if (key.status === 'active') {
      throw new AppError('key_active', 409, `federation key ${kid} is active: rotate first, then revoke it`);
    }
    if (key.status === 'revoked')
      throw new AppError('conflict', 409, `federation key ${kid} is already revoked`);
    const at = now.toISOString();
    Object.assign(key, {
      status: 'revoked',
      revoked_at: at,
      revocation_reason: reason,
      retired_at: key.retired_at ?? at,
    });
  }

  async signer(): Promise<FederationSigner> {
    const active = this.#keys.find((k) => k.status === 'active');
    if (!active) throw new AppError('no_federation_key', 500, 'no active federation signing key');
    return active.signer;
  }

  async publishedJwks(now: Date): Promise<JSONWebKeySet> {
    return {
      keys: this.#keys
        .filter((k) => isFederationKeyPublished(k, now, this.#lifetimeSeconds))
        .map((k) => JSON.parse(k.public_jwk) as JWK),
    };
  }

  async historicalKeys(): Promise<HistoricalKey[]> {
    return this.#keys
      .filter((k) => k.status !== 'active')
      .map((k) => historicalKeyEntry(k, this.#lifetimeSeconds));
  }

  async verificationJwks(): Promise<JSONWebKeySet> {
    return {
      keys: this.#keys.filter((k) => k.status !== 'revoked').map((k) => JSON.parse(k.public_jwk) as JWK),
    };
  }
}
