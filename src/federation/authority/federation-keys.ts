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
import { createFederationSigner, type FederationSigner } from '../federation-signer.ts';
import type { AuthorityActionMeta } from './action-meta.ts';
import {
  federationKeyExpiry,
  historicalKeyEntry,
  isFederationKeyPublished,
} from './federation-key-lifetime.ts';
import {
  type FederationKeyStore,
  type HistoricalKey,
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
} from './federation-key-store.ts';

type KeyRow = Database['signing_keys'];
type AnyDb = Kysely<Database> | Tx['db'];

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

async function federationKeyRows(db: AnyDb): Promise<KeyRow[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where('purpose', '=', 'federation')
    .orderBy('created_at', 'desc')
    .orderBy('kid')
    .execute() as Promise<KeyRow[]>;
}

function view(row: KeyRow, now: Date, lifetimeSeconds: number): FederationKeyView {
  const exp = federationKeyExpiry(row, lifetimeSeconds);
  return {
    kid: row.kid,
    alg: row.alg,
    status: row.status,
    created_at: row.created_at,
    retired_at: row.retired_at ?? null,
    revoked_at: row.revoked_at ?? null,
    revocation_reason: row.revocation_reason ?? null,
    published: isFederationKeyPublished(row, now, lifetimeSeconds),
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

/**
 * The federation keys in the `signing_keys` table. Rows are read on every call (rotation by another process is
 * seen at once); decrypted private keys are cached by kid.
 */
export class DatabaseFederationKeyStore implements FederationKeyStore {
  readonly #db: Kysely<Database>;
  readonly #kek: string;
  readonly #lifetimeSeconds: number;
  readonly #signers = new Map<string, FederationSigner>();

  constructor(db: Kysely<Database>, kek: string, statementLifetimeSeconds: number) {
    this.#db = db;
    this.#kek = kek;
    this.#lifetimeSeconds = statementLifetimeSeconds;
  }

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

  async publishedJwks(now: Date): Promise<JSONWebKeySet> {
    const rows = await federationKeyRows(this.#db);
    return {
      keys: rows
        .filter((r) => isFederationKeyPublished(r, now, this.#lifetimeSeconds))
        .map((r) => JSON.parse(r.public_jwk) as JWK),
    };
  }

  async historicalKeys(): Promise<HistoricalKey[]> {
    const rows = await federationKeyRows(this.#db);
    return rows.filter((r) => r.status !== 'active').map((r) => historicalKeyEntry(r, this.#lifetimeSeconds));
  }

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
