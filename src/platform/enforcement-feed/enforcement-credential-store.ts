import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../../storage/index.ts';

const PREFIX = 'acc_ep_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface EnforcementCredentialView {
  id: string;
  name: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Grants an enforcement point (a standalone gateway) read access to the change feed: a 256-bit random bearer
 * token returned once; only its SHA-256 is stored, so a database leak grants nothing.
 */
export async function issueEnforcementCredential(
  tx: Tx,
  name: string,
  meta: { actor: string; now: Date },
): Promise<EnforcementCredentialView & { token: string }> {
  if (!NAME.test(name)) {
    throw new AppError('invalid_input', 400, 'name: 1–64 letters, digits, ".", "_" or "-"', {
      field: 'name',
    });
  }
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const view: EnforcementCredentialView = {
    id: randomUUID(),
    name,
    created_by: meta.actor,
    created_at: meta.now.toISOString(),
    revoked_at: null,
  };
  await tx.db
    .insertInto('enforcement_credentials')
    .values({ ...view, token_hash: hashOf(token) })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'enforcement_credential.issue',
      targetType: 'enforcement_credential',
      targetId: view.id,
      details: { name },
    },
    meta.now,
  );
  return { ...view, token };
}

/** Credential pages: newest first by (created_at, id). */
export const ENFORCEMENT_CREDENTIAL_PAGE_KEY_LENGTH = 2;

/** One page of credentials, keyset-paged newest first by (created_at, id) after `page.after`. */
export async function listEnforcementCredentialsPage(
  db: Kysely<Database>,
  filter: { status?: 'active' | 'revoked' | undefined },
  page: PageRequest,
): Promise<Page<EnforcementCredentialView>> {
  let q = db
    .selectFrom('enforcement_credentials')
    .select(['id', 'name', 'created_by', 'created_at', 'revoked_at']);
  if (filter.status === 'active') q = q.where('revoked_at', 'is', null);
  if (filter.status === 'revoked') q = q.where('revoked_at', 'is not', null);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => [r.created_at, r.id]);
}

/** Revoked at once: the feed refuses it from now on and drops the streams opened with it. */
export async function revokeEnforcementCredential(
  tx: Tx,
  id: string,
  meta: { actor: string; now: Date },
): Promise<EnforcementCredentialView> {
  const row = await tx.db
    .selectFrom('enforcement_credentials')
    .select(['id', 'name', 'created_by', 'created_at', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', 404, `enforcement credential ${id} does not exist`);
  if (row.revoked_at !== null) {
    throw new AppError('already_revoked', 409, `enforcement credential ${id} is already revoked`);
  }
  const revokedAt = meta.now.toISOString();
  await tx.db
    .updateTable('enforcement_credentials')
    .set({ revoked_at: revokedAt })
    .where('id', '=', id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'enforcement_credential.revoke',
      targetType: 'enforcement_credential',
      targetId: id,
      details: { name: row.name },
    },
    meta.now,
  );
  return { ...row, revoked_at: revokedAt };
}

/** The live credential a bearer token stands for; lookup by hash of a 256-bit secret leaks nothing by timing. */
export async function findEnforcementCredential(
  db: Kysely<Database>,
  token: string,
): Promise<{ id: string; name: string } | undefined> {
  if (!token.startsWith(PREFIX) || token.length > 100) return undefined;
  return db
    .selectFrom('enforcement_credentials')
    .select(['id', 'name'])
    .where('token_hash', '=', hashOf(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}
