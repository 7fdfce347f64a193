import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { invalidInput } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import {
  normaliseRules,
  type RateLimitPolicy,
  type RateLimitRule,
  rateLimitPolicyProblem,
  rateLimitRulesProblem,
} from '../shared/rate-limit/index.ts';
import { CHANGE_KINDS, type Database, keysetAfter, publishChange, type Tx } from '../storage/index.ts';
import { requireApplication } from './applications.ts';
import type { ActionMeta } from './context.ts';
import { requireOrganisation } from './organisations.ts';

/**
 * Rate limits set by operators (issue 16). `catalog`: the catalog-wide default { client?, organisation? }
 * that every operation without its own `rate_limit` carries. `organisation` / `application`: a rule list
 * that replaces the catalog's limits of that kind for that subject (an empty list: not limited). Every
 * change is audited and published on the change feed (`rate_limit.changed`): every door applies it before
 * its next request.
 */
export type RateLimitSubject = 'catalog' | 'organisation' | 'application';

export interface RateLimitView {
  subject_kind: RateLimitSubject;
  subject_id: string;
  /** catalog: { client?, organisation? }; organisation / application: [{ quota, window }]. */
  policy: RateLimitPolicy | RateLimitRule[];
  updated_at: string;
}

type Db = Kysely<Database> | Tx['db'];

const CATALOG_ID = '*';

async function requireSubject(db: Db, kind: RateLimitSubject, id: string): Promise<string> {
  if (kind === 'organisation') await requireOrganisation(db, id);
  else if (kind === 'application') await requireApplication(db, id);
  return kind === 'catalog' ? CATALOG_ID : id;
}

/** Validated and normalised (rules sorted by window), or a 400 naming what is wrong. */
function validated(kind: RateLimitSubject, policy: unknown): RateLimitPolicy | RateLimitRule[] {
  if (kind === 'catalog') {
    const problem = rateLimitPolicyProblem(policy, 'rate_limit');
    if (problem !== undefined) throw invalidInput(problem);
    const given = policy as RateLimitPolicy;
    return {
      ...(given.client !== undefined ? { client: normaliseRules(given.client) } : {}),
      ...(given.organisation !== undefined ? { organisation: normaliseRules(given.organisation) } : {}),
    };
  }
  const problem = rateLimitRulesProblem(policy, 'limits');
  if (problem !== undefined) throw invalidInput(problem);
  return normaliseRules(policy as RateLimitRule[]);
}

function view(row: {
  subject_kind: RateLimitSubject;
  subject_id: string;
  policy: string;
  updated_at: string;
}): RateLimitView {
  return {
    subject_kind: row.subject_kind,
    subject_id: row.subject_id,
    policy: JSON.parse(row.policy) as RateLimitPolicy | RateLimitRule[],
    updated_at: row.updated_at,
  };
}

/** The sort key of a rate-limit page: by kind, then subject id (the table's primary key). */
export const RATE_LIMIT_PAGE_KEY = ['subject_kind', 'subject_id'] as const;

/** One page of the limits operators set (catalog, organisations, applications), optionally of one kind. */
export async function listRateLimitsPage(
  db: Db,
  filter: { kind?: RateLimitSubject | undefined },
  page: PageRequest,
): Promise<Page<RateLimitView>> {
  let q = db.selectFrom('rate_limits').selectAll();
  if (filter.kind) q = q.where('subject_kind', '=', filter.kind);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, RATE_LIMIT_PAGE_KEY, after));
  const rows = await q
    .orderBy('subject_kind')
    .orderBy('subject_id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.subject_kind, r.subject_id]);
  return { items: paged.items.map(view), next_cursor: paged.next_cursor };
}

/** The limit set for one subject, or undefined (the catalog's apply). 404 when the subject does not exist. */
export async function getRateLimit(
  db: Db,
  kind: RateLimitSubject,
  id: string,
): Promise<RateLimitView | undefined> {
  const subjectId = await requireSubject(db, kind, id);
  const row = await db
    .selectFrom('rate_limits')
    .selectAll()
    .where('subject_kind', '=', kind)
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  return row === undefined ? undefined : view(row);
}

/** Sets (replaces) the limit of one subject: audited, and published to every door in the same transaction. */
export async function setRateLimit(
  tx: Tx,
  kind: RateLimitSubject,
  id: string,
  policy: unknown,
  meta: ActionMeta,
): Promise<RateLimitView> {
  const subjectId = await requireSubject(tx.db, kind, id);
  const value = validated(kind, policy);
  const at = meta.now.toISOString();
  const json = JSON.stringify(value);
  await tx.db
    .insertInto('rate_limits')
    .values({ subject_kind: kind, subject_id: subjectId, policy: json, updated_at: at })
    .onConflict((oc) =>
      oc.columns(['subject_kind', 'subject_id']).doUpdateSet({ policy: json, updated_at: at }),
    )
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'rate_limit.set',
      targetType: kind,
      targetId: subjectId,
      details: { policy: value },
    },
    meta.now,
  );
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.rateLimitChanged,
      entityId: `${kind}:${subjectId}`,
      payload: { subject_kind: kind, subject_id: subjectId, policy: value },
    },
    meta.now,
  );
  return { subject_kind: kind, subject_id: subjectId, policy: value, updated_at: at };
}

/** Removes the limit of one subject (the catalog's apply again); false when none was set. */
export async function removeRateLimit(
  tx: Tx,
  kind: RateLimitSubject,
  id: string,
  meta: ActionMeta,
): Promise<boolean> {
  const subjectId = await requireSubject(tx.db, kind, id);
  const removed = await tx.db
    .deleteFrom('rate_limits')
    .where('subject_kind', '=', kind)
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  if (Number(removed.numDeletedRows) === 0) return false;
  await recordAuditEvent(
    tx,
    { actor: meta.actor, action: 'rate_limit.remove', targetType: kind, targetId: subjectId },
    meta.now,
  );
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.rateLimitChanged,
      entityId: `${kind}:${subjectId}`,
      payload: { subject_kind: kind, subject_id: subjectId, policy: null },
    },
    meta.now,
  );
  return true;
}

/** Every limit set, as the enforcement snapshot carries them. */
export async function rateLimitSnapshot(
  db: Db,
): Promise<Array<{ kind: RateLimitSubject; id: string; policy: unknown }>> {
  const rows = await db
    .selectFrom('rate_limits')
    .select(['subject_kind', 'subject_id', 'policy'])
    .orderBy('subject_kind')
    .orderBy('subject_id')
    .execute();
  return rows.map((r) => ({
    kind: r.subject_kind,
    id: r.subject_id,
    policy: JSON.parse(r.policy) as unknown,
  }));
}
