import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../../storage/index.ts';
import { recordAuditEvent } from '../record-audit-event.ts';

const PREFIX = 'acc_ssf_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A Shared Signals receiver as operators see it (never the token). */
export interface SsfReceiverView {
  id: string;
  name: string;
  /** Scoped to one organisation (a partner's SOC): only events about its subjects; null: every event. */
  org_id: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

/** The receiver a management or poll request authenticated as. */
export interface SsfReceiver {
  id: string;
  name: string;
  orgId: string | null;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Grants a receiver access to the transmitter: a 256-bit random bearer token (RFC 6750) returned once; only
 * its SHA-256 is stored. `orgId` must name an existing organisation (checked by the caller, the directory's).
 */
export async function issueSsfReceiver(
  tx: Tx,
  input: { name: string; orgId: string | null },
  meta: { actor: string; now: Date },
): Promise<SsfReceiverView & { token: string }> {
  if (!NAME.test(input.name)) {
    throw new AppError('invalid_input', 400, 'name: 1–64 letters, digits, ".", "_" or "-"', {
      field: 'name',
    });
  }
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const view: SsfReceiverView = {
    id: randomUUID(),
    name: input.name,
    org_id: input.orgId,
    created_by: meta.actor,
    created_at: meta.now.toISOString(),
    revoked_at: null,
  };
  await tx.db
    .insertInto('ssf_receivers')
    .values({ ...view, token_hash: hashOf(token) })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ssf_receiver.issue',
      targetType: 'ssf_receiver',
      targetId: view.id,
      details: { name: input.name, org_id: input.orgId },
    },
    meta.now,
  );
  return { ...view, token };
}

/** Receiver pages: newest first by (created_at, id). */
export const SSF_RECEIVER_PAGE_KEY_LENGTH = 2;

export interface SsfReceiverFilter {
  orgId?: string | undefined;
  status?: 'active' | 'revoked' | undefined;
}

/** One page of receivers, keyset-paged newest first by (created_at, id) after `page.after`. */
export async function listSsfReceiversPage(
  db: Kysely<Database>,
  filter: SsfReceiverFilter,
  page: PageRequest,
): Promise<Page<SsfReceiverView>> {
  let q = db
    .selectFrom('ssf_receivers')
    .select(['id', 'name', 'org_id', 'created_by', 'created_at', 'revoked_at']);
  if (filter.orgId !== undefined) q = q.where('org_id', '=', filter.orgId);
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

/** Revoked at once: its token is refused, its streams are disabled and their queued SETs dropped. */
export async function revokeSsfReceiver(
  tx: Tx,
  id: string,
  meta: { actor: string; now: Date },
): Promise<SsfReceiverView> {
  const row = await tx.db
    .selectFrom('ssf_receivers')
    .select(['id', 'name', 'org_id', 'created_by', 'created_at', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', 404, `SSF receiver ${id} does not exist`);
  if (row.revoked_at !== null)
    throw new AppError('already_revoked', 409, `SSF receiver ${id} is already revoked`);
  const revokedAt = meta.now.toISOString();
  await tx.db.updateTable('ssf_receivers').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
  const streams = tx.db.selectFrom('ssf_streams').select('stream_id').where('receiver_id', '=', id);
  await tx.db.deleteFrom('ssf_queued_sets').where('stream_id', 'in', streams).execute();
  await tx.db
    .updateTable('ssf_streams')
    .set({ status: 'disabled', status_reason: 'receiver revoked', updated_at: revokedAt })
    .where('receiver_id', '=', id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ssf_receiver.revoke',
      targetType: 'ssf_receiver',
      targetId: id,
      details: { name: row.name },
    },
    meta.now,
  );
  return { ...row, revoked_at: revokedAt };
}

/** The live receiver a bearer token stands for; lookup by the hash of a 256-bit secret leaks nothing by timing. */
export async function findSsfReceiver(db: Kysely<Database>, token: string): Promise<SsfReceiver | undefined> {
  if (!token.startsWith(PREFIX) || token.length > 100) return undefined;
  const row = await db
    .selectFrom('ssf_receivers')
    .select(['id', 'name', 'org_id'])
    .where('token_hash', '=', hashOf(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { id: row.id, name: row.name, orgId: row.org_id } : undefined;
}
