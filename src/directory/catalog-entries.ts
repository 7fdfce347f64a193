import { conflict, notFound } from '../shared/app-error.ts';
import type { CatalogStatus, Tx } from '../storage/index.ts';
import type { CatalogDocument, CatalogResource, CatalogRole, CatalogScope } from './catalog-document.ts';
import type { CatalogStage } from './catalog-drafts.ts';
import { editCatalog } from './catalog-drafts.ts';
import type { CatalogEdited, CatalogEditMeta } from './catalog-operations.ts';

/**
 * Scopes, roles and resources: named catalog entries created, changed, deprecated and deleted through the same
 * door as operations (editCatalog), so every finding (a scope still used, a role granting nothing, a role still
 * held) is checked against the whole catalog and every change is audited and published.
 */
type Kind = 'scopes' | 'roles' | 'resources';
type EntryOf<K extends Kind> = K extends 'scopes'
  ? CatalogScope
  : K extends 'roles'
    ? CatalogRole
    : CatalogResource;

const NOUN: Record<Kind, string> = { scopes: 'scope', roles: 'role', resources: 'resource' };

function find<K extends Kind>(doc: CatalogDocument, kind: K, name: string): EntryOf<K> {
  const found = (doc[kind] as Array<EntryOf<K>>).find((e) => e.name === name);
  if (!found) throw notFound(`catalog ${NOUN[kind]}`, name);
  return found;
}

async function createEntry<K extends Kind>(
  tx: Tx,
  kind: K,
  entry: EntryOf<K>,
  meta: CatalogEditMeta,
): Promise<CatalogEdited<EntryOf<K>>> {
  const result = await editCatalog(
    tx,
    meta,
    (doc) => {
      if ((doc[kind] as Array<{ name: string }>).some((e) => e.name === entry.name)) {
        throw conflict(`${NOUN[kind]} ${entry.name} exists already`);
      }
      (doc[kind] as Array<EntryOf<K>>).push(entry);
    },
    { action: `catalog.${NOUN[kind]}.create`, targetType: `catalog_${NOUN[kind]}`, targetId: entry.name },
  );
  return { ...find(result.document, kind, entry.name), ...edited(meta.stage, result) };
}

async function updateEntry<K extends Kind>(
  tx: Tx,
  kind: K,
  name: string,
  patch: Partial<Omit<EntryOf<K>, 'name'>>,
  meta: CatalogEditMeta,
): Promise<CatalogEdited<EntryOf<K>>> {
  const result = await editCatalog(
    tx,
    meta,
    (doc) => {
      const entry = find(doc, kind, name);
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) (entry as unknown as Record<string, unknown>)[key] = value;
      }
    },
    {
      action: `catalog.${NOUN[kind]}.update`,
      targetType: `catalog_${NOUN[kind]}`,
      targetId: name,
      details: {
        fields: Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined),
      },
    },
  );
  return { ...find(result.document, kind, name), ...edited(meta.stage, result) };
}

async function deleteEntry(
  tx: Tx,
  kind: Kind,
  name: string,
  meta: CatalogEditMeta,
): Promise<{ stage: CatalogStage; revision: number; warnings: CatalogEdited<object>['warnings'] }> {
  const result = await editCatalog(
    tx,
    meta,
    (doc) => {
      find(doc, kind, name);
      (doc[kind] as Array<{ name: string }>) = (doc[kind] as Array<{ name: string }>).filter(
        (e) => e.name !== name,
      );
    },
    { action: `catalog.${NOUN[kind]}.delete`, targetType: `catalog_${NOUN[kind]}`, targetId: name },
  );
  return edited(meta.stage, result);
}

function edited(
  stage: CatalogStage | undefined,
  result: { revision: number; findings: CatalogEdited<object>['warnings'] },
) {
  return { stage: stage ?? 'active', revision: result.revision, warnings: result.findings };
}

export interface ScopeInput {
  name: string;
  description?: string;
  version?: string | null;
  status?: CatalogStatus;
}

export interface RoleInput {
  name: string;
  description?: string;
  scopes: string[];
  status?: CatalogStatus;
}

export interface ResourceInput {
  name: string;
  description?: string;
  status?: CatalogStatus;
}

export const createCatalogScope = (tx: Tx, input: ScopeInput, meta: CatalogEditMeta) =>
  createEntry(
    tx,
    'scopes',
    {
      name: input.name,
      description: input.description ?? '',
      version: input.version ?? null,
      status: input.status ?? 'active',
    },
    meta,
  );
export const updateCatalogScope = (
  tx: Tx,
  name: string,
  patch: Partial<Omit<CatalogScope, 'name'>>,
  meta: CatalogEditMeta,
) => updateEntry(tx, 'scopes', name, patch, meta);
export const deleteCatalogScope = (tx: Tx, name: string, meta: CatalogEditMeta) =>
  deleteEntry(tx, 'scopes', name, meta);

export const createCatalogRole = (tx: Tx, input: RoleInput, meta: CatalogEditMeta) =>
  createEntry(
    tx,
    'roles',
    {
      name: input.name,
      description: input.description ?? '',
      scopes: [...input.scopes],
      status: input.status ?? 'active',
    },
    meta,
  );
export const updateCatalogRole = (
  tx: Tx,
  name: string,
  patch: Partial<Omit<CatalogRole, 'name'>>,
  meta: CatalogEditMeta,
) => updateEntry(tx, 'roles', name, patch, meta);
export const deleteCatalogRole = (tx: Tx, name: string, meta: CatalogEditMeta) =>
  deleteEntry(tx, 'roles', name, meta);

export const createCatalogResource = (tx: Tx, input: ResourceInput, meta: CatalogEditMeta) =>
  createEntry(
    tx,
    'resources',
    { name: input.name, description: input.description ?? '', status: input.status ?? 'active' },
    meta,
  );
export const updateCatalogResource = (
  tx: Tx,
  name: string,
  patch: Partial<Omit<CatalogResource, 'name'>>,
  meta: CatalogEditMeta,
) => updateEntry(tx, 'resources', name, patch, meta);
export const deleteCatalogResource = (tx: Tx, name: string, meta: CatalogEditMeta) =>
  deleteEntry(tx, 'resources', name, meta);
