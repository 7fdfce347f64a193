import { recordAuditEvent } from '../audit/index.ts';
import { AppError, notFound } from '../shared/app-error.ts';
import { lockJournal, type Tx } from '../storage/index.ts';
import {
  activeRevision,
  applyCatalog,
  type CatalogAudit,
  type CatalogChangeResult,
  checkCatalog,
  roleHolders,
} from './catalog-apply.ts';
import { type CatalogDiff, diffCatalogs } from './catalog-diff.ts';
import { type CatalogDocument, readCatalog } from './catalog-document.ts';
import { type CatalogFinding, catalogFindings } from './catalog-findings.ts';
import type { ActionMeta } from './context.ts';

/** One draft per platform: the change under review. */
const DRAFT = 'draft';

export type CatalogStage = 'active' | 'draft';

export interface CatalogDraftView {
  base_revision: number;
  active_revision: number;
  /** The active catalog moved on since the draft was taken: promoting it would undo those changes. */
  stale: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  document: CatalogDocument;
  diff: CatalogDiff;
  findings: CatalogFinding[];
}

async function draftRow(tx: Tx) {
  return tx.db.selectFrom('catalog_drafts').selectAll().where('name', '=', DRAFT).executeTakeFirst();
}

export async function readDraft(tx: Tx, now: Date): Promise<CatalogDraftView> {
  const row = await draftRow(tx);
  if (!row) throw notFound('catalog draft', DRAFT);
  const [active, revision, holders] = await Promise.all([
    readCatalog(tx.db),
    activeRevision(tx),
    roleHolders(tx.db, now),
  ]);
  const document = JSON.parse(row.document) as CatalogDocument;
  return {
    base_revision: row.base_revision,
    active_revision: revision,
    stale: row.base_revision !== revision,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    document,
    diff: diffCatalogs(active, document),
    findings: catalogFindings(document, { before: active, roleHolders: holders }),
  };
}

/** Starts a draft as a copy of the active catalog (409 if one exists: review or discard it first). */
export async function createDraft(tx: Tx, meta: ActionMeta): Promise<CatalogDraftView> {
  await lockJournal(tx);
  if (await draftRow(tx)) {
    throw new AppError(
      'catalog_draft_exists',
      409,
      'a catalog draft exists already; promote or discard it first',
    );
  }
  const at = meta.now.toISOString();
  await tx.db
    .insertInto('catalog_drafts')
    .values({
      name: DRAFT,
      document: JSON.stringify(await readCatalog(tx.db)),
      base_revision: await activeRevision(tx),
      created_by: meta.actor,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await recordAuditEvent(
    tx,
    { actor: meta.actor, action: 'catalog.draft.create', targetType: 'catalog', targetId: DRAFT },
    meta.now,
  );
  return readDraft(tx, meta.now);
}

export async function discardDraft(tx: Tx, meta: ActionMeta): Promise<void> {
  await lockJournal(tx);
  if (!(await draftRow(tx))) throw notFound('catalog draft', DRAFT);
  await tx.db.deleteFrom('catalog_drafts').where('name', '=', DRAFT).execute();
  await recordAuditEvent(
    tx,
    { actor: meta.actor, action: 'catalog.draft.discard', targetType: 'catalog', targetId: DRAFT },
    meta.now,
  );
}

/**
 * Makes the reviewed draft the active catalog, in one change partners feel at once. A draft taken before
 * the active catalog last changed is refused (409 `catalog_draft_stale`): promoting it would silently undo
 * that change. `dryRun` shows what promoting would do.
 */
export async function promoteDraft(
  tx: Tx,
  meta: ActionMeta & { dryRun?: boolean },
): Promise<CatalogChangeResult> {
  await lockJournal(tx);
  const row = await draftRow(tx);
  if (!row) throw notFound('catalog draft', DRAFT);
  const revision = await activeRevision(tx);
  if (row.base_revision !== revision) {
    throw new AppError(
      'catalog_draft_stale',
      409,
      `the draft was taken from revision ${row.base_revision}; the active catalog is at ${revision} now. Discard the draft and start again from the active catalog`,
      { base_revision: row.base_revision, active_revision: revision },
    );
  }
  const result = await applyCatalog(
    tx,
    JSON.parse(row.document) as CatalogDocument,
    { ...meta, source: 'promote' },
    { action: 'catalog.draft.promote', targetType: 'catalog', targetId: DRAFT },
  );
  if (!meta.dryRun) await tx.db.deleteFrom('catalog_drafts').where('name', '=', DRAFT).execute();
  return result;
}

/**
 * The one door of every catalog edit: `active` applies it at once (applyCatalog), `draft` changes the staged
 * catalog (started from the active one if there is none), validated the same way, felt by nobody until promoted.
 */
export async function editCatalog(
  tx: Tx,
  meta: ActionMeta & { stage?: CatalogStage; source?: string; dryRun?: boolean },
  edit: (document: CatalogDocument) => void,
  audit: CatalogAudit,
): Promise<CatalogChangeResult> {
  await lockJournal(tx);
  const active = await readCatalog(tx.db);
  if ((meta.stage ?? 'active') === 'active') {
    const next = structuredClone(active);
    edit(next);
    return applyCatalog(tx, next, { ...meta, source: meta.source ?? 'manual', before: active }, audit);
  }
  const row = await draftRow(tx);
  const revision = await activeRevision(tx);
  const next = structuredClone(row ? (JSON.parse(row.document) as CatalogDocument) : active);
  edit(next);
  const { document, findings, diff } = await checkCatalog(tx, next, active, meta.now);
  if (!meta.dryRun) {
    const at = meta.now.toISOString();
    await tx.db
      .insertInto('catalog_drafts')
      .values({
        name: DRAFT,
        document: JSON.stringify(document),
        base_revision: row?.base_revision ?? revision,
        created_by: row?.created_by ?? meta.actor,
        created_at: row?.created_at ?? at,
        updated_at: at,
      })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ document: JSON.stringify(document), updated_at: at }),
      )
      .execute();
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: `${audit.action}.draft`,
        targetType: audit.targetType,
        targetId: audit.targetId,
        details: { ...audit.details, stage: 'draft' },
      },
      meta.now,
    );
  }
  return { document, diff, findings, revision, applied: false };
}
