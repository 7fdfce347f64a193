import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import {
  CHANGE_KINDS,
  type Database,
  keysetAfter,
  lockJournal,
  publishChange,
  type Tx,
} from '../storage/index.ts';
import { type CatalogDiff, diffCatalogs, isEmptyDiff, summariseDiff } from './catalog-diff.ts';
import {
  type CatalogDocument,
  type CatalogOperation,
  catalogRoutesPayload,
  compareOperations,
  normaliseAlternatives,
  readCatalog,
} from './catalog-document.ts';
import {
  assertNoErrors,
  type CatalogFinding,
  catalogFindings,
  type RoleHolders,
} from './catalog-findings.ts';
import type { ActionMeta } from './context.ts';

export interface CatalogAudit {
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export interface CatalogChangeResult {
  /** The catalog after the change (or as it would be, on a dry run). */
  document: CatalogDocument;
  diff: CatalogDiff;
  /** Warnings only: a change with errors is refused (400 naming every finding). */
  findings: CatalogFinding[];
  /** The active revision after the change; unchanged on a dry run or a change that changes nothing. */
  revision: number;
  applied: boolean;
}

/** The active revision: 0 until the first change after migration 0010. */
export async function activeRevision(tx: { db: Kysely<Database> | Tx['db'] }): Promise<number> {
  const row = await tx.db
    .selectFrom('catalog_revisions')
    .select((eb) => eb.fn.max('revision').as('revision'))
    .executeTakeFirst();
  return Number(row?.revision ?? 0);
}

export async function roleHolders(db: Tx['db'], now: Date): Promise<Map<string, RoleHolders>> {
  const [apps, orgs] = await Promise.all([
    db
      .selectFrom('application_roles')
      .innerJoin('applications', 'applications.client_id', 'application_roles.client_id')
      .select(['application_roles.role', 'application_roles.expires_at'])
      .where('applications.status', '!=', 'deleted')
      .execute(),
    db.selectFrom('organisation_roles').select('role').execute(),
  ]);
  const holders = new Map<string, RoleHolders>();
  const of = (role: string) => {
    let held = holders.get(role);
    if (!held) {
      held = { applications: 0, organisations: 0 };
      holders.set(role, held);
    }
    return held;
  };
  const at = now.toISOString();
  for (const a of apps) if (!a.expires_at || a.expires_at > at) of(a.role).applications += 1;
  for (const o of orgs) of(o.role).organisations += 1;
  return holders;
}

/** Sorted and normalised, so equal catalogs compare equal and diffs show only real changes. */
export function normaliseCatalog(document: CatalogDocument): CatalogDocument {
  const byName = <T extends { name: string }>(list: T[]) =>
    [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    resources: byName(document.resources),
    scopes: byName(document.scopes),
    roles: byName(document.roles).map((r) => ({ ...r, scopes: [...new Set(r.scopes)].sort() })),
    operations: document.operations
      .map((o): CatalogOperation => ({ ...o, required_scopes: normaliseAlternatives(o.required_scopes) }))
      .sort(compareOperations),
  };
}

async function writeDiff(tx: Tx, diff: CatalogDiff): Promise<void> {
  const db = tx.db;
  for (const r of diff.resources.added) await db.insertInto('catalog_resources').values(r).execute();
  for (const { after } of diff.resources.changed) {
    await db
      .updateTable('catalog_resources')
      .set({ description: after.description, status: after.status })
      .where('name', '=', after.name)
      .execute();
  }
  for (const s of diff.scopes.added) await db.insertInto('scopes').values(s).execute();
  for (const { after } of diff.scopes.changed) {
    await db
      .updateTable('scopes')
      .set({ description: after.description, version: after.version, status: after.status })
      .where('name', '=', after.name)
      .execute();
  }
  for (const r of diff.roles.added) {
    await db
      .insertInto('roles')
      .values({ name: r.name, description: r.description, status: r.status })
      .execute();
  }
  for (const { after } of diff.roles.changed) {
    await db
      .updateTable('roles')
      .set({ description: after.description, status: after.status })
      .where('name', '=', after.name)
      .execute();
    await db.deleteFrom('role_scopes').where('role', '=', after.name).execute();
  }
  for (const r of [...diff.roles.added, ...diff.roles.changed.map((c) => c.after)]) {
    for (const scope of r.scopes)
      await db.insertInto('role_scopes').values({ role: r.name, scope }).execute();
  }
  // Removed and moved operations leave their (method, pattern) first: an edit may swap two patterns.
  for (const o of diff.operations.removed)
    await db.deleteFrom('catalog_operations').where('id', '=', o.id).execute();
  for (const { after } of diff.operations.changed) {
    await db
      .updateTable('catalog_operations')
      .set({ path_pattern: `~moving:${after.id}` })
      .where('id', '=', after.id)
      .execute();
  }
  for (const { after } of diff.operations.changed) {
    await db
      .updateTable('catalog_operations')
      .set({
        method: after.method,
        path_pattern: after.path_pattern,
        resource: after.resource,
        operation_id: after.operation_id,
        source: after.source,
        description: after.description,
        auth: after.auth,
        mtls: after.mtls,
        dpop: after.dpop,
        owner_param: after.owner_param,
        status: after.status,
        rate_limit: after.rate_limit === undefined ? null : JSON.stringify(after.rate_limit),
      })
      .where('id', '=', after.id)
      .execute();
    await db.deleteFrom('catalog_operation_scopes').where('operation_id', '=', after.id).execute();
  }
  for (const o of diff.operations.added) {
    const { required_scopes: _, rate_limit: limit, ...row } = o;
    await db
      .insertInto('catalog_operations')
      .values({ ...row, rate_limit: limit === undefined ? null : JSON.stringify(limit) })
      .execute();
  }
  for (const o of [...diff.operations.added, ...diff.operations.changed.map((c) => c.after)]) {
    for (const [alternative, scopes] of o.required_scopes.entries()) {
      for (const scope of scopes) {
        await db
          .insertInto('catalog_operation_scopes')
          .values({ operation_id: o.id, alternative, scope })
          .execute();
      }
    }
  }
  for (const r of diff.roles.removed) {
    // The findings refused a role anyone still holds: what is left are expired grants and grants of deleted
    // applications, which would otherwise block the delete (application_roles.role references roles.name).
    await db.deleteFrom('application_roles').where('role', '=', r.name).execute();
    await db.deleteFrom('roles').where('name', '=', r.name).execute();
  }
  for (const s of diff.scopes.removed) await db.deleteFrom('scopes').where('name', '=', s.name).execute();
  for (const r of diff.resources.removed)
    await db.deleteFrom('catalog_resources').where('name', '=', r.name).execute();
}

/**
 * `next` normalised, every finding of it against the whole catalog (400 naming every error), and its
 * difference with `before` (the active catalog): what an active edit applies and a draft edit stores.
 */
export async function checkCatalog(
  tx: Tx,
  next: CatalogDocument,
  before: CatalogDocument,
  now: Date,
): Promise<{ document: CatalogDocument; findings: CatalogFinding[]; diff: CatalogDiff }> {
  const document = normaliseCatalog(next);
  const findings = catalogFindings(document, { before, roleHolders: await roleHolders(tx.db, now) });
  assertNoErrors(findings);
  return { document, findings, diff: diffCatalogs(before, document) };
}

/**
 * Makes `next` the active catalog: every finding checked against the whole catalog, the rows written, a
 * revision kept, the route table published on the change feed (every gateway swaps it before the next request)
 * and the change audited. Catalog changes are serialised (journal lock): each sees every earlier one.
 */
export async function applyCatalog(
  tx: Tx,
  next: CatalogDocument,
  meta: ActionMeta & { source: string; dryRun?: boolean; before?: CatalogDocument },
  audit: CatalogAudit,
): Promise<CatalogChangeResult> {
  await lockJournal(tx);
  const before = meta.before ?? (await readCatalog(tx.db));
  const { document, findings, diff } = await checkCatalog(tx, next, before, meta.now);
  const current = await activeRevision(tx);
  if (meta.dryRun || isEmptyDiff(diff)) {
    return { document, diff, findings, revision: current, applied: false };
  }
  await writeDiff(tx, diff);
  const revision = current + 1;
  const summary = summariseDiff(diff);
  await tx.db
    .insertInto('catalog_revisions')
    .values({
      revision,
      document: JSON.stringify(document),
      source: meta.source,
      actor: meta.actor,
      summary: JSON.stringify(summary),
      applied_at: meta.now.toISOString(),
    })
    .execute();
  // The whole route table: gateways replace theirs with it, so they never reason about diffs.
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.catalogChanged,
      entityId: String(revision),
      payload: {
        revision,
        routes: catalogRoutesPayload(document),
        // The authorization server learns new and deleted scopes from here (no restart).
        scopes: document.scopes.map((s) => s.name),
      },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: audit.action,
      targetType: audit.targetType,
      targetId: audit.targetId,
      details: { ...audit.details, revision, source: meta.source, changes: summary },
    },
    meta.now,
  );
  return { document, diff, findings, revision, applied: true };
}

export interface CatalogRevisionView {
  revision: number;
  source: string;
  actor: string;
  applied_at: string;
  /** Names of what the change added, changed and removed, per kind. */
  summary: unknown;
}

/** One page of the catalogs that became active, newest first, keyset-paged by revision (descending). */
export async function listCatalogRevisionsPage(
  db: Kysely<Database> | Tx['db'],
  filter: { source?: string | undefined; actor?: string | undefined },
  page: PageRequest,
): Promise<Page<CatalogRevisionView>> {
  let q = db.selectFrom('catalog_revisions').select(['revision', 'source', 'actor', 'summary', 'applied_at']);
  if (filter.source) q = q.where('source', '=', filter.source);
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['revision'], after, true));
  const rows = await q
    .orderBy('revision', 'desc')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.revision]);
  return {
    items: paged.items.map((r) => ({ ...r, summary: JSON.parse(r.summary) as unknown })),
    next_cursor: paged.next_cursor,
  };
}

/** Every catalog that became active, newest first, without their documents. */
export async function listCatalogRevisions(
  db: Kysely<Database> | Tx['db'],
  limit = 200,
): Promise<CatalogRevisionView[]> {
  const rows = await db
    .selectFrom('catalog_revisions')
    .select(['revision', 'source', 'actor', 'summary', 'applied_at'])
    .orderBy('revision', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, summary: JSON.parse(r.summary) as unknown }));
}
