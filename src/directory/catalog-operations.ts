import { randomUUID } from 'node:crypto';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, invalidInput, notFound } from '../shared/app-error.ts';
import { CHANGE_KINDS, lockJournal, publishChange, type Tx } from '../storage/index.ts';
import type { ActionMeta } from './context.ts';
import { validateRoutePattern } from './route-pattern.ts';

export interface CatalogOperationInput {
  method: string;
  pathPattern: string;
  scope: string;
  description: string;
}

export interface CatalogOperationView {
  id: string;
  method: string;
  path_pattern: string;
  scope: string;
  description: string;
}

/** One reason an operation was refused; all of them are reported together. */
export interface CatalogFinding {
  code: 'invalid_pattern' | 'unknown_scope' | 'duplicate' | 'conflicting_pattern' | 'shadowed_pattern';
  field: string;
  detail: string;
}

// The gateway's trie ignores parameter names: `/a/{id}` and `/a/{key}` are the same node (match-route.ts).
function shape(pattern: string): string {
  return pattern.replace(/\{[^/}]*\}/g, '{}');
}

/**
 * Findings for `input` against the other routes of the table. The gateway picks literal before {param}
 * before a final `**` (backtracking), so a `P/**` is unreachable for every non-empty segment once both
 * `P/{x}` and `P/{x}/**` exist for the same method.
 */
function findings(
  input: CatalogOperationInput,
  others: ReadonlyArray<{ method: string; path_pattern: string; scope: string }>,
  knownScopes: ReadonlySet<string>,
): CatalogFinding[] {
  const found: CatalogFinding[] = [];
  try {
    validateRoutePattern(input.method, input.pathPattern);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const field = typeof err.details?.field === 'string' ? err.details.field : 'path_pattern';
    found.push({ code: 'invalid_pattern', field, detail: err.message });
  }
  if (!knownScopes.has(input.scope)) {
    found.push({
      code: 'unknown_scope',
      field: 'scope',
      detail: `scope "${input.scope}" is not in the catalog`,
    });
  }
  const same = others.filter((o) => o.method === input.method);
  for (const o of same) {
    if (o.path_pattern === input.pathPattern && o.scope === input.scope) {
      found.push({
        code: 'duplicate',
        field: 'path_pattern',
        detail: `${o.method} ${o.path_pattern} already requires ${o.scope}`,
      });
    } else if (o.path_pattern !== input.pathPattern && shape(o.path_pattern) === shape(input.pathPattern)) {
      found.push({
        code: 'conflicting_pattern',
        field: 'path_pattern',
        detail: `${o.method} ${o.path_pattern} matches exactly the same requests; use the same spelling`,
      });
    }
  }
  const patterns = new Set(same.map((o) => shape(o.path_pattern)));
  const own = shape(input.pathPattern);
  if (own.endsWith('/**')) {
    const base = own.slice(0, -3);
    if (patterns.has(`${base}/{}`) && patterns.has(`${base}/{}/**`)) {
      found.push({
        code: 'shadowed_pattern',
        field: 'path_pattern',
        detail: `${input.method} ${input.pathPattern} is never reached: ${base}/{param} and ${base}/{param}/** take every request first`,
      });
    }
  }
  // Adding `P/{x}` or `P/{x}/**` may complete the pair that shadows an existing `P/**`.
  const shadowedBase = own.endsWith('/{}/**')
    ? own.slice(0, -6)
    : own.endsWith('/{}')
      ? own.slice(0, -3)
      : undefined;
  if (shadowedBase !== undefined && patterns.has(`${shadowedBase}/**`)) {
    const other = own.endsWith('/**') ? `${shadowedBase}/{}` : `${shadowedBase}/{}/**`;
    if (patterns.has(other)) {
      found.push({
        code: 'shadowed_pattern',
        field: 'path_pattern',
        detail: `${input.method} ${shadowedBase}/** would never be reached any more`,
      });
    }
  }
  return found;
}

async function assertValid(
  tx: Tx,
  input: CatalogOperationInput,
  exceptId: string | undefined,
): Promise<void> {
  let q = tx.db.selectFrom('catalog_routes').select(['method', 'path_pattern', 'scope']);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  const [others, scopes] = await Promise.all([
    q.execute(),
    tx.db.selectFrom('scopes').select('name').execute(),
  ]);
  const found = findings(input, others, new Set(scopes.map((s) => s.name)));
  if (found.length > 0) {
    throw invalidInput(`the operation is refused: ${found.map((f) => f.detail).join('; ')}`, {
      errors: found,
    });
  }
}

/** The whole route table after a change: gateways replace theirs with it, so they never reason about diffs. */
async function publishCatalog(tx: Tx, id: string, meta: ActionMeta): Promise<void> {
  const rows = await tx.db
    .selectFrom('catalog_routes')
    .select(['method', 'path_pattern', 'scope'])
    .orderBy('path_pattern')
    .orderBy('method')
    .orderBy('scope')
    .execute();
  const routes = rows.map((r) => ({ method: r.method, pathPattern: r.path_pattern, scope: r.scope }));
  await publishChange(tx, { kind: CHANGE_KINDS.catalogChanged, entityId: id, payload: { routes } }, meta.now);
}

async function requireOperation(tx: Tx, id: string): Promise<CatalogOperationView> {
  const row = await tx.db
    .selectFrom('catalog_routes')
    .select(['id', 'method', 'path_pattern', 'scope', 'description'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('catalog operation', id);
  return row;
}

export async function createCatalogOperation(
  tx: Tx,
  input: CatalogOperationInput,
  meta: ActionMeta,
): Promise<CatalogOperationView> {
  // Catalog edits one at a time: checks and the published table see every earlier edit (SQLite has one writer).
  await lockJournal(tx);
  await assertValid(tx, input, undefined);
  const view: CatalogOperationView = {
    id: randomUUID(),
    method: input.method,
    path_pattern: input.pathPattern,
    scope: input.scope,
    description: input.description,
  };
  await tx.db.insertInto('catalog_routes').values(view).execute();
  await publishCatalog(tx, view.id, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'catalog.operation.create',
      targetType: 'catalog_operation',
      targetId: view.id,
      details: { method: view.method, path_pattern: view.path_pattern, scope: view.scope },
    },
    meta.now,
  );
  return view;
}

export async function updateCatalogOperation(
  tx: Tx,
  id: string,
  patch: Partial<CatalogOperationInput>,
  meta: ActionMeta,
): Promise<CatalogOperationView> {
  await lockJournal(tx);
  const before = await requireOperation(tx, id);
  const input: CatalogOperationInput = {
    method: patch.method ?? before.method,
    pathPattern: patch.pathPattern ?? before.path_pattern,
    scope: patch.scope ?? before.scope,
    description: patch.description ?? before.description,
  };
  await assertValid(tx, input, id);
  const after: CatalogOperationView = {
    id,
    method: input.method,
    path_pattern: input.pathPattern,
    scope: input.scope,
    description: input.description,
  };
  await tx.db
    .updateTable('catalog_routes')
    .set({
      method: after.method,
      path_pattern: after.path_pattern,
      scope: after.scope,
      description: after.description,
    })
    .where('id', '=', id)
    .execute();
  await publishCatalog(tx, id, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'catalog.operation.update',
      targetType: 'catalog_operation',
      targetId: id,
      details: {
        from: { method: before.method, path_pattern: before.path_pattern, scope: before.scope },
        to: { method: after.method, path_pattern: after.path_pattern, scope: after.scope },
      },
    },
    meta.now,
  );
  return after;
}

export async function deleteCatalogOperation(tx: Tx, id: string, meta: ActionMeta): Promise<void> {
  await lockJournal(tx);
  const before = await requireOperation(tx, id);
  await tx.db.deleteFrom('catalog_routes').where('id', '=', id).execute();
  await publishCatalog(tx, id, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'catalog.operation.delete',
      targetType: 'catalog_operation',
      targetId: id,
      details: { method: before.method, path_pattern: before.path_pattern, scope: before.scope },
    },
    meta.now,
  );
}
