import {
  type CatalogDocument,
  type CatalogOperation,
  type CatalogResource,
  type CatalogScope,
  compareOperations,
} from '../catalog-document.ts';
import { error, type ImportFinding } from './findings.ts';
import type { ImportedOperation } from './map-openapi.ts';

/** What mergeImport needs of an import (ImportedCatalog has it all). */
export interface ImportToMerge {
  operations: readonly ImportedOperation[];
  /** `pointers[i]`: where `operations[i]` is in the document, for findings. */
  pointers?: readonly string[];
  scopes: readonly CatalogScope[];
  resources: readonly CatalogResource[];
}

export interface MergeImportOptions {
  /** `openapi:<name>`: the operations of the catalog this import replaces. */
  source: string;
  newId: () => string;
}

export interface ChangedOperation {
  before: CatalogOperation;
  after: CatalogOperation;
  /** The fields that differ, in CatalogOperation order. */
  fields: string[];
}

export interface ChangedScope {
  before: CatalogScope;
  after: CatalogScope;
  fields: string[];
}

export interface ChangedResource {
  before: CatalogResource;
  after: CatalogResource;
  fields: string[];
}

/** What applying the import would change: the dry run prints it. */
export interface ImportDiff {
  added: CatalogOperation[];
  changed: ChangedOperation[];
  removed: CatalogOperation[];
  scopesAdded: CatalogScope[];
  scopesChanged: ChangedScope[];
  resourcesAdded: CatalogResource[];
  resourcesChanged: ChangedResource[];
}

export interface MergedImport {
  document: CatalogDocument;
  diff: ImportDiff;
  /**
   * Errors here mean the document must not be applied (it leaves the refused operations out). The import's
   * own findings (ImportedCatalog.findings) are not repeated: a caller reports both.
   */
  findings: ImportFinding[];
}

const OPERATION_FIELDS = [
  'method',
  'path_pattern',
  'resource',
  'operation_id',
  'source',
  'description',
  'required_scopes',
  'auth',
  'mtls',
  'dpop',
  'owner_param',
  'status',
  'rate_limit',
] as const satisfies ReadonlyArray<keyof CatalogOperation>;

const IMPORT_SOURCE = /^openapi:[a-z0-9][a-z0-9._-]{0,63}$/;

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
// The gateway's trie ignores parameter names: `/a/{x}` and `/a/{y}` are one route.
const routeKey = (o: { method: string; path_pattern: string }) =>
  `${o.method} ${o.path_pattern.replace(/\{[^/}]*\}/g, '{}')}`;

/**
 * Puts an import into a catalog document. The import owns the operations of its source and nothing else: it
 * adds, changes and removes those; operations of other sources (seed, manual, other imports) stay as they
 * are, and an imported route one of them already serves is refused rather than taken over. An operation
 * keeps its id across re-imports (matched by operationId, else by method and pattern), so what refers to it
 * survives. Scopes and resources are only added or updated, never removed: roles may still grant a scope
 * the new document no longer uses, and the catalog's validation reports that.
 */
export function mergeImport(
  current: CatalogDocument,
  imported: ImportToMerge,
  options: MergeImportOptions,
): MergedImport {
  const findings: ImportFinding[] = [];
  if (!IMPORT_SOURCE.test(options.source)) {
    // An import replaces the operations of its source: it must never be handed `seed` or `manual`.
    findings.push(
      error('invalid_source', '', `"${options.source}" is not an import source (openapi:<name>)`),
    );
    return { document: current, diff: emptyDiff([]), findings };
  }
  const own = current.operations.filter((o) => o.source === options.source);
  const others = current.operations.filter((o) => o.source !== options.source);
  const otherRoutes = new Map(others.map((o) => [routeKey(o), o]));

  const accepted: Array<{ op: ImportedOperation; index: number }> = [];
  imported.operations.forEach((op, index) => {
    const owner = otherRoutes.get(routeKey(op));
    if (owner === undefined) {
      accepted.push({ op, index });
      return;
    }
    findings.push(
      error(
        'owned_by_other_source',
        imported.pointers?.[index] ?? '',
        `${op.method} ${op.path_pattern} is already ${owner.method} ${owner.path_pattern} of source "${owner.source ?? 'none'}": remove it there first`,
      ),
    );
  });

  // Pass 1: operationId, when both sides have one. Pass 2: method and pattern, for what is left, so an
  // operation whose operationId was added, dropped or renamed but whose route stayed keeps its id too.
  const match = new Map<number, CatalogOperation>();
  const unmatched = new Set(own);
  for (const { op, index } of accepted) {
    if (op.operation_id === null) continue;
    const found = [...unmatched].find((o) => o.operation_id === op.operation_id);
    if (found) {
      match.set(index, found);
      unmatched.delete(found);
    }
  }
  for (const { op, index } of accepted) {
    if (match.has(index)) continue;
    const found = [...unmatched].find((o) => routeKey(o) === routeKey(op));
    if (found) {
      match.set(index, found);
      unmatched.delete(found);
    }
  }

  const diff = emptyDiff([...unmatched].sort(compareOperations));
  const operations: CatalogOperation[] = [...others];
  for (const { op, index } of accepted) {
    const before = match.get(index);
    const after: CatalogOperation = { id: before?.id ?? options.newId(), ...op, source: options.source };
    operations.push(after);
    if (before === undefined) {
      diff.added.push(after);
      continue;
    }
    const fields = OPERATION_FIELDS.filter((f) => !same(before[f], after[f]));
    if (fields.length > 0) diff.changed.push({ before, after, fields });
  }
  diff.added.sort(compareOperations);
  diff.changed.sort((a, b) => compareOperations(a.after, b.after));

  const scopes = new Map(current.scopes.map((s) => [s.name, s]));
  for (const scope of imported.scopes) {
    const before = scopes.get(scope.name);
    if (before === undefined) {
      scopes.set(scope.name, { ...scope });
      diff.scopesAdded.push({ ...scope });
      continue;
    }
    // An undeclared scope comes without a description: that does not erase the one the catalog has.
    const after: CatalogScope = {
      ...before,
      description: scope.description !== '' ? scope.description : before.description,
      version: scope.version,
    };
    const fields = (['description', 'version'] as const).filter((f) => before[f] !== after[f]);
    if (fields.length > 0) {
      scopes.set(scope.name, after);
      diff.scopesChanged.push({ before, after, fields });
    }
  }

  const resources = new Map(current.resources.map((r) => [r.name, r]));
  for (const resource of imported.resources) {
    const before = resources.get(resource.name);
    if (before === undefined) {
      resources.set(resource.name, { ...resource });
      diff.resourcesAdded.push({ ...resource });
    } else if (resource.description !== '' && resource.description !== before.description) {
      const after = { ...before, description: resource.description };
      resources.set(resource.name, after);
      diff.resourcesChanged.push({ before, after, fields: ['description'] });
    }
  }
  diff.scopesAdded.sort(byName);
  diff.scopesChanged.sort((a, b) => byName(a.after, b.after));
  diff.resourcesAdded.sort(byName);
  diff.resourcesChanged.sort((a, b) => byName(a.after, b.after));

  return {
    document: {
      resources: [...resources.values()].sort(byName),
      scopes: [...scopes.values()].sort(byName),
      roles: current.roles,
      operations: operations.sort(compareOperations),
    },
    diff,
    findings,
  };
}

function emptyDiff(removed: CatalogOperation[]): ImportDiff {
  return {
    added: [],
    changed: [],
    removed,
    scopesAdded: [],
    scopesChanged: [],
    resourcesAdded: [],
    resourcesChanged: [],
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
