import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JSONWebKeySet, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import {
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
} from '../../pki/index.ts';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Database, lockJournal, type Tx } from '../../storage/index.ts';
import { createFederationSigner, type FederationSigner } from '../signer.ts';
import type { AuthorityActionMeta } from './action-meta.ts';

type KeyRow = Database['signing_keys'];
type AnyDb = Kysely<Database> | Tx['db'];

/** §8.7.3: reasons a Federation Entity Key was revoked. */
export const KEY_REVOCATION_REASONS = ['unspecified', 'compromised', 'superseded'] as const;
export type KeyRevocationReason = (typeof KEY_REVOCATION_REASONS)[number];

export interface FederationKeyView {
  kid: string;
  alg: string;
  status: 'active' | 'retired' | 'revoked';
  created_at: string;
  retired_at: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  /** In the Entity Configuration's jwks now: active, or retired less than a statement lifetime ago. */
  published: boolean;
  /** When verifiers must stop accepting it (ISO time); null while active. */
  expires_at: string | null;
  public_jwk: JWK;
}

const seconds = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

async function federationKeyRows(db: AnyDb): Promise<KeyRow[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where('purpose', '=', 'federation')
    .orderBy('created_at', 'desc')
    .orderBy('kid')
    .execute() as Promise<KeyRow[]>;
}

/**
 * A retired key stays valid for one statement lifetime after retirement, the longest any statement it signed
 * can live; a revoked key stops at revocation (§8.7.2 `exp`: after it the key MUST NOT be considered valid).
 */
function keyExpiry(row: KeyRow, lifetimeSeconds: number): number | undefined {
  if (row.status === 'active') return undefined;
  const retired = row.retired_at ? seconds(row.retired_at) + lifetimeSeconds : undefined;
  const revoked = row.revoked_at ? seconds(row.revoked_at) : undefined;
  const candidates = [retired, revoked].filter((v): v is number => v !== undefined);
  return candidates.length > 0 ? Math.min(...candidates) : seconds(row.created_at);
}

function isPublished(row: KeyRow, now: Date, lifetimeSeconds: number): boolean {
  if (row.status === 'active') return true;
  if (row.status !== 'retired') return false;
  const exp = keyExpiry(row, lifetimeSeconds);
  return exp !== undefined && exp > Math.floor(now.getTime() / 1000);
}

function view(row: KeyRow, now: Date, lifetimeSeconds: number): FederationKeyView {
  const exp = keyExpiry(row, lifetimeSeconds);
  return {
    kid: row.kid,
    alg: row.alg,
    status: row.status,
    created_at: row.created_at,
    retired_at: row.retired_at ?? null,
    revoked_at: row.revoked_at ?? null,
    revocation_reason: row.revocation_reason ?? null,
    published: isPublished(row, now, lifetimeSeconds),
    expires_at: exp === undefined ? null : new Date(exp * 1000).toISOString(),
    public_jwk: JSON.parse(row.public_jwk) as JWK,
  };
}

export async function listFederationKeys(
  db: AnyDb,
  now: Date,
  statementLifetimeSeconds: number,
): Promise<FederationKeyView[]> {
  return (await federationKeyRows(db)).map((r) => view(r, now, statementLifetimeSeconds));
}

/** A historical key entry (§8.7.2): the public JWK with iat, exp and, when revoked, revoked {revoked_at, reason}. */
export interface HistoricalKey extends JWK {
  iat: number;
  exp: number;
  revoked?: { revoked_at: number; reason?: string };
}

/**
 * The platform's Federation Entity Keys: the one that signs, the ones the Entity Configuration publishes and the
 * historical ones. Rows are read on every call (rotation by another process is seen at once); decrypted private
 * keys are cached by kid.
 */
export class FederationKeyStore {
  readonly #db: Kysely<Database>;
  readonly #kek: string;
  readonly #lifetimeSeconds: number;
  readonly #signers = new Map<string, FederationSigner>();

  constructor(db: Kysely<Database>, kek: string, statementLifetimeSeconds: number) {
    this.#db = db;
    this.#kek = kek;
    this.#lifetimeSeconds = statementLifetimeSeconds;
  }

  /** The newest active key; statements are signed with it and nothing else. */
  async signer(): Promise<FederationSigner> {
    const active = (await federationKeyRows(this.#db)).find((r) => r.status === 'active');
    if (!active) {
      throw new AppError('no_federation_key', 500, 'no active federation signing key: run `accredit init`');
    }
    let signer = this.#signers.get(active.kid);
    if (!signer) {
      const key: KeyObject = decryptPrivateKey(active.private_key_pem, this.#kek);
      signer = createFederationSigner(key, active.kid, active.alg);
      this.#signers.set(active.kid, signer);
    }
    return signer;
  }

  /** The `jwks` of the Entity Configuration: active keys plus retired ones still inside their overlap. */
  async publishedJwks(now: Date): Promise<JSONWebKeySet> {
    const rows = await federationKeyRows(this.#db);
    return {
      keys: rows
        .filter((r) => isPublished(r, now, this.#lifetimeSeconds))
        .map((r) => JSON.parse(r.public_jwk) as JWK),
    };
  }

  /** Every key that no longer signs, for the historical keys endpoint (§8.7). */
  async historicalKeys(): Promise<HistoricalKey[]> {
    const rows = await federationKeyRows(this.#db);
    return rows
      .filter((r) => r.status !== 'active')
      .map((r) => {
        const entry: HistoricalKey = {
          ...(JSON.parse(r.public_jwk) as JWK),
          iat: seconds(r.created_at),
          exp: keyExpiry(r, this.#lifetimeSeconds)!,
        };
        if (r.revoked_at) {
          entry.revoked = {
            revoked_at: seconds(r.revoked_at),
            ...(r.revocation_reason ? { reason: r.revocation_reason } : {}),
          };
        }
        return entry;
      });
  }

  /** Keys a statement of ours may have been signed with and still be trusted: active and retired, never revoked. */
  async verificationJwks(): Promise<JSONWebKeySet> {
    const rows = await federationKeyRows(this.#db);
    return {
      keys: rows.filter((r) => r.status !== 'revoked').map((r) => JSON.parse(r.public_jwk) as JWK),
    };
  }
}

async function newKeyRow(alg: KeyAlgorithm, kek: string, now: Date): Promise<KeyRow> {
  const { privateKey, publicKey } = generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  // §3.1.1: it is RECOMMENDED that the kid be the RFC 7638 thumbprint of the key.
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    purpose: 'federation',
    alg,
    public_jwk: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }),
    private_key_pem: encryptPrivateKey(privateKey, kek),
    status: 'active',
    created_at: now.toISOString(),
    retired_at: null,
    revoked_at: null,
    revocation_reason: null,
  };
}

export interface RotateOptions {
  kek: string;
  /** Algorithm of the new key; default: the current active key's, else ES256. */
  alg?: string | undefined;
  statementLifetimeSeconds: number;
}

/**
 * Makes a new active federation key and retires the previous one. The retired key stays in the Entity
 * Configuration until every statement it signed has expired, then only in the historical keys.
 */
export async function rotateFederationKey(
  tx: Tx,
  options: RotateOptions,
  meta: AuthorityActionMeta,
): Promise<{ active: FederationKeyView; retired: string[] }> {
  // Rotations take turns (PostgreSQL), so two at once cannot leave two active keys.
  await lockJournal(tx);
  const rows = await federationKeyRows(tx.db);
  const active = rows.filter((r) => r.status === 'active');
  const alg = options.alg ?? active[0]?.alg ?? 'ES256';
  if (!(KEY_ALGORITHMS as readonly string[]).includes(alg)) {
    throw invalidInput(`alg must be one of ${KEY_ALGORITHMS.join(', ')}`, { field: 'alg' });
  }
  const at = meta.now.toISOString();
  const fresh = await newKeyRow(alg as KeyAlgorithm, options.kek, meta.now);
  await tx.db.insertInto('signing_keys').values(fresh).execute();
  for (const old of active) {
    await tx.db
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: at })
      .where('kid', '=', old.kid)
      .execute();
  }
  const retired = active.map((r) => r.kid);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.key.rotate',
      targetType: 'signing_key',
      targetId: fresh.kid,
      details: { alg, retired },
    },
    meta.now,
  );
  return { active: view(fresh, meta.now, options.statementLifetimeSeconds), retired };
}

/**
 * Revokes a retired federation key (§8.7: historical keys say why). The active key cannot be revoked: rotate
 * first, so that the platform always has a key to sign with.
 */
export async function revokeFederationKey(
  tx: Tx,
  kid: string,
  reason: KeyRevocationReason,
  options: { statementLifetimeSeconds: number },
  meta: AuthorityActionMeta,
): Promise<FederationKeyView> {
  if (!(KEY_REVOCATION_REASONS as readonly string[]).includes(reason)) {
    throw invalidInput(`reason must be one of ${KEY_REVOCATION_REASONS.join(', ')}`, { field: 'reason' });
  }
  const row = (await federationKeyRows(tx.db)).find((r) => r.kid === kid);
  if (!row) throw notFound('federation key', kid);
  if (row.status === 'active') {
    throw new AppError('key_active', 409, `federation key ${kid} is active: rotate first, then revoke it`);
  }
  if (row.status === 'revoked')
    throw new AppError('conflict', 409, `federation key ${kid} is already revoked`);
  const at = meta.now.toISOString();
  await tx.db
    .updateTable('signing_keys')
    .set({ status: 'revoked', revoked_at: at, revocation_reason: reason, retired_at: row.retired_at ?? at })
    .where('kid', '=', kid)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.key.revoke',
      targetType: 'signing_key',
      targetId: kid,
      details: { reason },
    },
    meta.now,
  );
  const updated = (await federationKeyRows(tx.db)).find((r) => r.kid === kid)!;
  return view(updated, meta.now, options.statementLifetimeSeconds);
}
