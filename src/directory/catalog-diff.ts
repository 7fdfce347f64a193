import type {
  CatalogDocument,
  CatalogOperation,
  CatalogResource,
  CatalogRole,
  CatalogScope,
} from './catalog-document.ts';

export interface EntryChange<T> {
  before: T;
  after: T;
  /** The fields that differ. */
  fields: string[];
}

export interface EntryDiff<T> {
  added: T[];
  changed: Array<EntryChange<T>>;
  removed: T[];
}

/** What applying one catalog over another adds, changes and removes; the dry run of every change prints it. */
export interface CatalogDiff {
  resources: EntryDiff<CatalogResource>;
  scopes: EntryDiff<CatalogScope>;
  roles: EntryDiff<CatalogRole>;
  operations: EntryDiff<CatalogOperation>;
}

function differingFields<T extends object>(a: T, b: T): string[] {
  const fields: string[] = [];
  for (const key of Object.keys(a) as Array<keyof T>) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) fields.push(String(key));
  }
  return fields;
}

function diffEntries<T extends object>(
  before: readonly T[],
  after: readonly T[],
  key: (t: T) => string,
): EntryDiff<T> {
  const old = new Map(before.map((e) => [key(e), e]));
  const diff: EntryDiff<T> = { added: [], changed: [], removed: [] };
  const kept = new Set<string>();
  for (const entry of after) {
    const k = key(entry);
    const earlier = old.get(k);
    if (!earlier) {
      diff.added.push(entry);
      continue;
    }
    kept.add(k);
    const fields = differingFields(earlier, entry);
    if (fields.length > 0) diff.changed.push({ before: earlier, after: entry, fields });
  }
  for (const [k, entry] of old) if (!kept.has(k)) diff.removed.push(entry);
  return diff;
}

export function diffCatalogs(before: CatalogDocument, after: CatalogDocument): CatalogDiff {
  return {
    resources: diffEntries(before.resources, after.resources, (r) => r.name),
    scopes: diffEntries(before.scopes, after.scopes, (s) => s.name),
    roles: diffEntries(before.roles, after.roles, (r) => r.name),
    operations: diffEntries(before.operations, after.operations, (o) => o.id),
  };
}

export function isEmptyDiff(diff: CatalogDiff): boolean {
  return Object.values(diff).every(
    (d: EntryDiff<unknown>) => d.added.length + d.changed.length + d.removed.length === 0,
  );
}

const label = {
  resources: (r: CatalogResource) => r.name,
  scopes: (s: CatalogScope) => s.name,
  roles: (r: CatalogRole) => r.name,
  operations: (o: CatalogOperation) => `${o.method} ${o.path_pattern}`,
};

/** The diff by name only (no descriptions): what the audit log and a revision keep of a change. */
export function summariseDiff(
  diff: CatalogDiff,
): Record<string, { added: string[]; changed: string[]; removed: string[] }> {
  const out: Record<string, { added: string[]; changed: string[]; removed: string[] }> = {};
  for (const kind of ['resources', 'scopes', 'roles', 'operations'] as const) {
    const d = diff[kind] as EntryDiff<never>;
    const name = label[kind] as (e: never) => string;
    if (d.added.length + d.changed.length + d.removed.length === 0) continue;
    out[kind] = {
      added: d.added.map(name),
      changed: d.changed.map((c) => `${name(c.after)} (${c.fields.join(', ')})`),
      removed: d.removed.map(name),
    };
  }
  return out;
}
