import { createHash, type KeyObject } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import { AppError, notFound } from '../shared/app-error.ts';
import { type CaStatus, CHANGE_KINDS, type Database, publishChange, type Tx } from '../storage/index.ts';
import { assertRootKey, rootOffline } from './ca-crls.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';

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

export type CaRow = Selectable<Database['certificate_authorities']>;

/** Certificates a CA issued that are active and unexpired at `now`: what taking it out of the bundle breaks. */
export async function unexpiredActive(db: Kysely<Database>, caId: string, now: Date): Promise<number> {
  const row = await db
    .selectFrom('certificates')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('issuer_ca_id', '=', caId)
    .where('status', '=', 'active')
    .where('not_after', '>', now.toISOString())
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** A CA row as the outside sees it: never its key, only whether one is stored. */
export async function viewOf(
  db: Kysely<Database>,
  row: CaRow,
  fallbackCrlUrl: string | undefined,
  now: Date,
) {
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

/** The `ca.changed` change-feed entry, with the bundle as committed: trust stores and gateways reload. */
export async function announce(
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

/** An issuing CA row, read under a lock on the issuing CAs (PostgreSQL): lifecycle changes take turns. */
export async function issuingRow(tx: Tx, id: string): Promise<CaRow> {
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

/** The root row, locked (PostgreSQL) for the key going offline or coming back. */
export async function rootRow(tx: Tx): Promise<CaRow> {
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

/** The root's signing material: the stored key, or the key of a ceremony checked against the root certificate. */
export async function rootSigner(
  ca: CertificateAuthority,
  rootKey: KeyObject | undefined,
  operation: string,
) {
  const { id, certPem, privateKey } = ca.root;
  if (rootKey) {
    await assertRootKey(certPem, rootKey);
    return { id, certPem, privateKey: rootKey };
  }
  if (!privateKey) throw rootOffline(operation);
  return { id, certPem, privateKey };
}

/** The columns of a CA that stops signing: retired or revoked, key gone. */
export function ended(row: CaRow, status: 'retired' | 'revoked', reason: string | null, meta: ActionMeta) {
  return {
    status,
    key_pem: null,
    status_changed_at: meta.now.toISOString(),
    revocation_reason: reason,
    generation: row.generation,
  };
}

/** The CA's key is destroyed with its status: a CA that signs nothing any more has no key to lose. */
export async function markEnded(
  tx: Tx,
  row: CaRow,
  status: 'retired' | 'revoked',
  reason: string | null,
  meta: ActionMeta,
): Promise<void> {
  const { generation: _g, ...set } = ended(row, status, reason, meta);
  await tx.db.updateTable('certificate_authorities').set(set).where('id', '=', row.id).execute();
}
