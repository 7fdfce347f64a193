import { createPrivateKey, type KeyObject } from 'node:crypto';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Tx } from '../storage/index.ts';
import { assertRootKey } from './ca-crls.ts';
import { type AuthorityView, announce, rootRow, rootSigner, viewOf } from './ca-records.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';
import { encryptPrivateKey } from './key-encryption.ts';
import { pemToDer } from './pem.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** An exported root key is only as safe as its passphrase (PBES2, RFC 8018 §6.2): refuse short ones. */
export const MIN_ROOT_PASSPHRASE_LENGTH = 12;

function assertPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length < MIN_ROOT_PASSPHRASE_LENGTH) {
    throw new AppError(
      'weak_passphrase',
      400,
      `the root key passphrase must be at least ${MIN_ROOT_PASSPHRASE_LENGTH} characters`,
    );
  }
}

/**
 * Reads an exported root key: encrypted PKCS#8 only (RFC 5958 §3; a plaintext key is refused, OpenSSL would
 * silently ignore the passphrase), decrypted with the passphrase. Errors name no key material.
 */
export function readRootKeyExport(pem: string, passphrase: string): KeyObject {
  let der: Buffer;
  try {
    der = pemToDer(pem, 'ENCRYPTED PRIVATE KEY');
  } catch {
    throw new AppError(
      'root_key_unreadable',
      400,
      'the root key file is not one ENCRYPTED PRIVATE KEY PEM block',
    );
  }
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase });
  } catch {
    throw new AppError(
      'root_key_unreadable',
      400,
      'the root key file could not be decrypted with that passphrase',
    );
  }
}

/**
 * The root key as encrypted PKCS#8 under an operator passphrase (PBES2 with AES-256-CBC, RFC 8018), for
 * storage away from the platform. The key must be online.
 */
export function exportRootKey(ca: CertificateAuthority, passphrase: string): string {
  assertPassphrase(passphrase);
  const key = ca.root.privateKey;
  if (!key)
    throw new AppError('root_key_offline', 409, 'the root CA key is already offline: nothing to export');
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
}

const sameKey = (a: KeyObject, b: KeyObject) =>
  (a.export({ type: 'pkcs8', format: 'der' }) as Buffer).equals(
    b.export({ type: 'pkcs8', format: 'der' }) as Buffer,
  );

/**
 * Removes the root key from storage, once the export given decrypts with its passphrase to this very key:
 * the platform can never lose its root by going offline with an unusable export.
 */
export async function takeRootOffline(
  tx: Tx,
  ca: CertificateAuthority,
  exported: { pem: string; passphrase: string },
  meta: ActionMeta,
): Promise<AuthorityView> {
  const row = await rootRow(tx);
  const stored = ca.root.privateKey;
  if (!row.key_pem || !stored)
    throw new AppError('root_key_offline', 409, 'the root CA key is already offline');
  const key = readRootKeyExport(exported.pem, exported.passphrase);
  if (!sameKey(key, stored)) {
    throw new AppError('root_key_mismatch', 400, 'the export holds a different key than the stored root key');
  }
  return storeRootKey(tx, row, null, meta);
}

/** Puts an exported root key back into storage (encrypted under the KEK): the root is online again. */
export async function importRootKey(
  tx: Tx,
  ca: CertificateAuthority,
  exported: { pem: string; passphrase: string },
  meta: ActionMeta,
): Promise<AuthorityView> {
  const row = await rootRow(tx);
  if (row.key_pem) throw new AppError('root_key_online', 409, 'the root CA key is already stored here');
  const key = readRootKeyExport(exported.pem, exported.passphrase);
  await assertRootKey(row.cert_pem, key);
  return storeRootKey(tx, row, encryptPrivateKey(key, ca.kek), meta);
}

/** Stores (online) or removes (offline) the root's encrypted key; announced on the feed and audited. */
async function storeRootKey(
  tx: Tx,
  row: Awaited<ReturnType<typeof rootRow>>,
  keyPem: string | null,
  meta: ActionMeta,
): Promise<AuthorityView> {
  const action = keyPem === null ? 'root_offline' : 'root_online';
  await tx.db
    .updateTable('certificate_authorities')
    .set({ key_pem: keyPem })
    .where('id', '=', row.id)
    .execute();
  await announce(tx, row.id, { action, status: row.status }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: `ca.${action}`,
      targetType: 'certificate_authority',
      targetId: row.id,
      details: { subject: row.subject },
    },
    meta.now,
  );
  return viewOf(tx.db, { ...row, key_pem: keyPem }, undefined, meta.now);
}

/** Publishes the root's next CRL (it lists the revoked issuing CAs), with the root key online or of a ceremony. */
export async function publishRootCrl(
  tx: Tx,
  ca: CertificateAuthority,
  meta: ActionMeta,
  options: { rootKey?: KeyObject; validityHours?: number } = {},
): Promise<{ crlNumber: number; nextUpdate: Date }> {
  const signer = await rootSigner(ca, options.rootKey, 'publishing the root CRL');
  const published = await ca.publishCrl(tx, meta.now, 'root', { ...options, rootKey: signer.privateKey });
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.publish_root_crl',
      targetType: 'certificate_authority',
      targetId: signer.id,
      details: { crl_number: published.crlNumber, next_update: published.nextUpdate.toISOString() },
    },
    meta.now,
  );
  return published;
}

/** Hours of validity a ceremony's root CRL gets from `--root-crl-days`. */
export const rootCrlHoursOf = (days: number) => days * (DAY_MS / HOUR_MS);
