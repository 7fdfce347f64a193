import { createHash, createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, notFound } from '../shared/app-error.ts';
import { type CaStatus, CHANGE_KINDS, type Database, publishChange, type Tx } from '../storage/index.ts';
import { createIssuingCa } from './ca-certificates.ts';
import { assertRootKey, rootOffline, storeNextCrl } from './ca-crls.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';
import { encryptPrivateKey } from './key-encryption.ts';
import type { KeyAlgorithm } from './keys.ts';
import { pemToDer } from './pem.ts';
import { parseRevocationReason } from './revocation-reasons.ts';
import { x509 } from './x509.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ISSUING_DAYS = 10 * 365;
/** An exported root key is only as safe as its passphrase (PBES2, RFC 8018 §6.2): refuse short ones. */
export const MIN_ROOT_PASSPHRASE_LENGTH = 12;

/** One of the platform's CAs as the admin API, the CLI and other roles (the OCSP responder) see it. */
export interface AuthorityView {
  id: string;
  kind: 'root' | 'issuing';
  status: CaStatus;
  generation: number;
  subject: string;
  serial: string;
  not_before: string;
  not_after: string;
  /** Whether its private key is stored here (a retired or revoked CA's is destroyed; an offline root's kept elsewhere). */
  key_online: boolean;
  /** Issuing CAs: the CRL distribution point of the certificates it issues. */
  crl_url: string | null;
  status_changed_at: string | null;
  revocation_reason: string | null;
  /** Issuing CAs: certificates it issued that are active and not expired (what retiring it would break). */
  unexpired_active_certificates: number | null;
  certificate_pem: string;
}

type CaRow = Selectable<Database['certificate_authorities']>;

async function unexpiredActive(db: Kysely<Database>, caId: string, now: Date): Promise<number> {
  const row = await db
    .selectFrom('certificates')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('issuer_ca_id', '=', caId)
    .where('status', '=', 'active')
    .where('not_after', '>', now.toISOString())
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

async function viewOf(db: Kysely<Database>, row: CaRow, fallbackCrlUrl: string | undefined, now: Date) {
  const issuing = row.kind === 'issuing';
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    generation: Number(row.generation),
    subject: row.subject,
    serial: row.serial,
    not_before: row.not_before,
    not_after: row.not_after,
    key_online: row.key_pem !== null,
    crl_url: issuing ? (row.crl_url ?? fallbackCrlUrl ?? null) : null,
    status_changed_at: row.status_changed_at,
    revocation_reason: row.revocation_reason,
    unexpired_active_certificates: issuing ? await unexpiredActive(db, row.id, now) : null,
    certificate_pem: row.cert_pem,
  } satisfies AuthorityView;
}

/**
 * Every CA the platform has had: the root, then the issuing CAs newest generation first. `active` issues;
 * `retiring` is still trusted and publishes its CRL; `retired` and `revoked` are in no bundle any more.
 */
export async function listAuthorities(
  db: Kysely<Database>,
  options: { now: Date; crlUrl?: string },
): Promise<AuthorityView[]> {
  const rows = await db
    .selectFrom('certificate_authorities')
    .selectAll()
    .orderBy('kind', 'desc')
    .orderBy('generation', 'desc')
    .execute();
  const views: AuthorityView[] = [];
  for (const row of rows) views.push(await viewOf(db, row, options.crlUrl, options.now));
  return views;
}

/**
 * The trust bundle as stored: the trusted issuing CAs (active first) then the root. Carried by every
 * `ca.changed` entry and every enforcement snapshot, so a standalone gateway learns it from the feed.
 */
export async function trustBundle(db: Kysely<Database>): Promise<string> {
  const rows = await db
    .selectFrom('certificate_authorities')
    .select(['kind', 'status', 'cert_pem', 'generation'])
    .where('status', 'in', ['active', 'retiring'])
    .orderBy('generation', 'desc')
    .execute();
  const issuing = rows
    .filter((r) => r.kind === 'issuing')
    .sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active'));
  const root = rows.filter((r) => r.kind === 'root');
  return [...issuing, ...root].map((r) => `${r.cert_pem.trim()}\n`).join('');
}

async function announce(
  tx: Tx,
  caId: string,
  payload: { action: string; status: CaStatus },
  meta: ActionMeta,
): Promise<void> {
  const bundle = await trustBundle(tx.db);
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.caChanged,
      entityId: caId,
      payload: {
        ...payload,
        bundle_pem: bundle,
        bundle_sha256: createHash('sha256').update(bundle).digest('hex'),
      },
    },
    meta.now,
  );
}

async function issuingRow(tx: Tx, id: string): Promise<CaRow> {
  if (tx.engine === 'postgres') {
    await sql`SELECT id FROM certificate_authorities WHERE kind = 'issuing' FOR UPDATE`.execute(tx.db);
  }
  const row = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', 'issuing')
    .executeTakeFirst();
  if (!row) throw notFound('issuing CA', id);
  return row;
}

/** The root's signing material: the stored key, or the key of a ceremony checked against the root certificate. */
async function rootSigner(ca: CertificateAuthority, rootKey: KeyObject | undefined, operation: string) {
  const { id, certPem, privateKey } = ca.root;
  if (rootKey) {
    await assertRootKey(certPem, rootKey);
    return { id, certPem, privateKey: rootKey };
  }
  if (!privateKey) throw rootOffline(operation);
  return { id, certPem, privateKey };
}

function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ES384' : 'ES256';
  }
  if (key.asymmetricKeyType === 'rsa') return 'PS256';
  return 'EdDSA';
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

/**
 * Brings in the next issuing CA generation, signed by the root: it issues from now on; the one that issued
 * until now becomes `retiring` (still trusted, still publishing its CRL, its certificates still revocable).
 * The new CA has its own CRL distribution point, and its first CRL is published in the same transaction.
 */
export async function rotateIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  meta: ActionMeta,
  options: { rootKey?: KeyObject; validityDays?: number } = {},
): Promise<AuthorityView> {
  const root = await rootSigner(ca, options.rootKey, 'rotating the issuing CA');
  const crlUrlOf = ca.settings.issuingCrlUrlOf;
  if (!crlUrlOf) throw new AppError('not_configured', 500, 'the issuing CRL URLs are not configured');
  const current = await issuingRow(tx, ca.caId);
  if (current.status !== 'active') {
    throw new AppError('conflict', 409, 'the issuing CA changed meanwhile; reload and try again');
  }
  const generations = await tx.db
    .selectFrom('certificate_authorities')
    .select((eb) => eb.fn.max('generation').as('g'))
    .where('kind', '=', 'issuing')
    .executeTakeFirst();
  const generation = Number(generations?.g ?? 1) + 1;
  const old = new x509.X509Certificate(current.cert_pem);
  const commonName = `${(old.subjectName.getField('CN')[0] ?? 'Accredit Issuing CA').replace(/\s+\d+$/, '')} ${generation}`;
  const organization = old.subjectName.getField('O')[0];
  const rootNotAfter = new x509.X509Certificate(root.certPem).notAfter;
  // RFC 5280 §6.1.3 does not demand nesting, but a CA outliving its root only produces unusable certificates.
  const untilRoot = Math.floor((rootNotAfter.getTime() - meta.now.getTime()) / DAY_MS) - 1;
  const validityDays = Math.min(options.validityDays ?? ISSUING_DAYS, untilRoot);
  if (validityDays < 1)
    throw new AppError('root_expiring', 409, 'the root CA expires too soon to sign a new CA');
  const id = randomUUID();
  const material = await createIssuingCa({
    parent: root,
    commonName,
    ...(organization !== undefined ? { organization } : {}),
    keyAlg: keyAlgorithmOf(ca.trustedIssuing[0]?.privateKey ?? root.privateKey),
    validityDays,
    now: meta.now,
    ...(ca.settings.rootCrlUrl !== undefined ? { crlUrl: ca.settings.rootCrlUrl } : {}),
  });
  const at = meta.now.toISOString();
  await tx.db
    .updateTable('certificate_authorities')
    .set({ status: 'retiring', status_changed_at: at })
    .where('id', '=', current.id)
    .execute();
  await tx.db
    .insertInto('certificate_authorities')
    .values({
      id,
      kind: 'issuing',
      subject: material.subject,
      serial: material.serialHex,
      cert_pem: material.certPem,
      key_pem: encryptPrivateKey(material.privateKey, ca.kek),
      not_before: material.notBefore.toISOString(),
      not_after: material.notAfter.toISOString(),
      created_at: at,
      status: 'active',
      generation,
      crl_url: crlUrlOf(id),
      status_changed_at: at,
      revocation_reason: null,
    })
    .execute();
  // Relying parties fetch the new CA's CRL as soon as they meet its first certificate.
  await storeNextCrl(tx, {
    signer: { id, certPem: material.certPem, privateKey: material.privateKey },
    now: meta.now,
    validityHours: ca.settings.crlValidityHours,
    entries: async () => [],
  });
  await announce(tx, id, { action: 'rotated', status: 'active' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.rotate_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: material.subject,
        serial: material.serialHex,
        generation,
        retiring: current.id,
        ceremony: options.rootKey !== undefined,
      },
    },
    meta.now,
  );
  const row = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return viewOf(tx.db, row, ca.settings.crlUrl, meta.now);
}

/**
 * Takes a retiring issuing CA out of every bundle and destroys its key. Refused while certificates it issued
 * are active and unexpired (they would stop working) unless forced.
 */
export async function retireIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  id: string,
  options: { force: boolean },
  meta: ActionMeta,
): Promise<AuthorityView> {
  const row = await issuingRow(tx, id);
  if (row.status === 'active') {
    throw new AppError(
      'ca_active',
      409,
      'the active issuing CA cannot be retired: rotate to a new one first',
    );
  }
  if (row.status !== 'retiring')
    throw new AppError('conflict', 409, `issuing CA ${id} is already ${row.status}`);
  const remaining = await unexpiredActive(tx.db, id, meta.now);
  if (remaining > 0 && !options.force) {
    throw new AppError(
      'ca_in_use',
      409,
      `issuing CA ${id} still has ${remaining} unexpired active certificate(s); wait for them to expire or be renewed, revoke them, or force`,
      { unexpired_active_certificates: remaining },
    );
  }
  await markEnded(tx, row, 'retired', null, meta);
  await announce(tx, id, { action: 'retired', status: 'retired' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.retire_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: row.subject,
        serial: row.serial,
        forced: options.force,
        unexpired_active: remaining,
      },
    },
    meta.now,
  );
  return viewOf(tx.db, { ...row, ...ended(row, 'retired', null, meta) }, ca.settings.crlUrl, meta.now);
}

function ended(row: CaRow, status: 'retired' | 'revoked', reason: string | null, meta: ActionMeta) {
  return {
    status,
    key_pem: null,
    status_changed_at: meta.now.toISOString(),
    revocation_reason: reason,
    generation: row.generation,
  };
}

/** The CA's key is destroyed with its status: a CA that signs nothing any more has no key to lose. */
async function markEnded(
  tx: Tx,
  row: CaRow,
  status: 'retired' | 'revoked',
  reason: string | null,
  meta: ActionMeta,
): Promise<void> {
  const { generation: _g, ...set } = ended(row, status, reason, meta);
  await tx.db.updateTable('certificate_authorities').set(set).where('id', '=', row.id).execute();
}

/**
 * Revokes an issuing CA (compromise): every active certificate it issued is revoked on its last CRL, the CA
 * leaves every bundle, its key is destroyed, and the root's next CRL lists it (RFC 5280 §5.3.1 reason). The
 * active CA cannot be revoked: rotate first, so the platform can go on issuing.
 */
export async function revokeIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  id: string,
  reasonName: string,
  meta: ActionMeta,
  options: { rootKey?: KeyObject; rootCrlValidityHours?: number } = {},
): Promise<AuthorityView & { certificates_revoked: number; root_crl_number: number }> {
  const reason = parseRevocationReason(reasonName);
  // The root signs the CRL that revokes: check for its key before anything changes.
  const root = await rootSigner(ca, options.rootKey, 'revoking an issuing CA');
  const row = await issuingRow(tx, id);
  if (row.status === 'active') {
    throw new AppError(
      'ca_active',
      409,
      'the active issuing CA cannot be revoked: rotate to a new one first',
    );
  }
  if (row.status === 'revoked')
    throw new AppError('already_revoked', 409, `issuing CA ${id} is already revoked`);
  const revokedCertificates = await ca.revokeAllIssuedBy(
    tx,
    id,
    reason === 'keyCompromise' ? 'cACompromise' : reason,
    meta,
  );
  await markEnded(tx, row, 'revoked', reason, meta);
  const published = await ca.publishCrl(tx, meta.now, 'root', {
    rootKey: root.privateKey,
    ...(options.rootCrlValidityHours !== undefined ? { validityHours: options.rootCrlValidityHours } : {}),
  });
  await announce(tx, id, { action: 'revoked', status: 'revoked' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.revoke_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: row.subject,
        serial: row.serial,
        reason,
        certificates_revoked: revokedCertificates,
        root_crl_number: published.crlNumber,
      },
    },
    meta.now,
  );
  const view = await viewOf(
    tx.db,
    { ...row, ...ended(row, 'revoked', reason, meta) },
    ca.settings.crlUrl,
    meta.now,
  );
  return { ...view, certificates_revoked: revokedCertificates, root_crl_number: published.crlNumber };
}

/**
 * Housekeeping: a retiring issuing CA whose last certificate has expired (revoked or not) has nothing left
 * to vouch for; it is retired. Returns the ids retired.
 */
export async function retireExpendedIssuing(tx: Tx, now: Date): Promise<string[]> {
  const retiring = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('kind', '=', 'issuing')
    .where('status', '=', 'retiring')
    .execute();
  const retired: string[] = [];
  const meta = { actor: 'system:housekeeping', now };
  for (const row of retiring) {
    const left = await tx.db
      .selectFrom('certificates')
      .select('serial')
      .where('issuer_ca_id', '=', row.id)
      .where('not_after', '>', now.toISOString())
      .limit(1)
      .executeTakeFirst();
    if (left) continue;
    await markEnded(tx, row, 'retired', null, meta);
    await announce(tx, row.id, { action: 'retired', status: 'retired' }, meta);
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'ca.retire_issuing',
        targetType: 'certificate_authority',
        targetId: row.id,
        details: {
          subject: row.subject,
          serial: row.serial,
          forced: false,
          unexpired_active: 0,
          automatic: true,
        },
      },
      now,
    );
    retired.push(row.id);
  }
  return retired;
}

// ---- the offline root ----

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

async function rootRow(tx: Tx): Promise<CaRow> {
  if (tx.engine === 'postgres') {
    await sql`SELECT id FROM certificate_authorities WHERE kind = 'root' FOR UPDATE`.execute(tx.db);
  }
  const row = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('kind', '=', 'root')
    .executeTakeFirst();
  if (!row) throw new AppError('not_initialised', 500, 'the platform CA has not been created');
  return row;
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
  await tx.db
    .updateTable('certificate_authorities')
    .set({ key_pem: null })
    .where('id', '=', row.id)
    .execute();
  await announce(tx, row.id, { action: 'root_offline', status: row.status }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.root_offline',
      targetType: 'certificate_authority',
      targetId: row.id,
      details: { subject: row.subject },
    },
    meta.now,
  );
  return viewOf(tx.db, { ...row, key_pem: null }, undefined, meta.now);
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
  const keyPem = encryptPrivateKey(key, ca.kek);
  await tx.db
    .updateTable('certificate_authorities')
    .set({ key_pem: keyPem })
    .where('id', '=', row.id)
    .execute();
  await announce(tx, row.id, { action: 'root_online', status: row.status }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.root_online',
      targetType: 'certificate_authority',
      targetId: row.id,
      details: { subject: row.subject },
    },
    meta.now,
  );
  return viewOf(tx.db, { ...row, key_pem: keyPem }, undefined, meta.now);
}

/** Hours of validity a ceremony's root CRL gets from `--root-crl-days`. */
export const rootCrlHoursOf = (days: number) => days * (DAY_MS / HOUR_MS);
