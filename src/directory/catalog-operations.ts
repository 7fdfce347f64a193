import { randomUUID } from 'node:crypto';
import { notFound } from '../shared/app-error.ts';
import type { RateLimitPolicy } from '../shared/rate-limit/index.ts';
import type { CatalogStatus, Tx } from '../storage/index.ts';
import type {
  CatalogDocument,
  CatalogOperation,
  OperationAuth,
  OperationDpop,
  OperationMtls,
} from './catalog-document.ts';
import { type CatalogStage, editCatalog } from './catalog-drafts.ts';
import type { CatalogFinding } from './catalog-findings.ts';
import type { ActionMeta } from './context.ts';

export type { CatalogFinding } from './catalog-findings.ts';

export interface CatalogOperationInput {
  method: string;
  pathPattern: string;
  /** Alternatives: any one grants; every scope of one is needed. */
  requiredScopes: string[][];
  description: string;
  resource?: string | null;
  auth?: OperationAuth;
  mtls?: OperationMtls;
  dpop?: OperationDpop;
  ownerParam?: string | null;
  status?: CatalogStatus;
  /** The operation's own rate limit; null removes it (the catalog-wide default applies). */
  rateLimit?: RateLimitPolicy | null;
}

export type CatalogEditMeta = ActionMeta & { stage?: CatalogStage; dryRun?: boolean };

/** An edited entry as the catalog now holds it, with the warnings the change raised and where it landed. */
export type CatalogEdited<T> = T & { stage: CatalogStage; revision: number; warnings: CatalogFinding[] };

export type CatalogOperationView = CatalogOperation;

function findOperation(document: CatalogDocument, id: string): CatalogOperation {
  const found = document.operations.find((o) => o.id === id);
  if (!found) throw notFound('catalog operation', id);
  return found;
}

function auditDetails(o: CatalogOperation) {
  return { method: o.method, path_pattern: o.path_pattern, required_scopes: o.required_scopes, auth: o.auth };
}

export async function createCatalogOperation(
  tx: Tx,
  input: CatalogOperationInput,
  meta: CatalogEditMeta,
): Promise<CatalogEdited<CatalogOperation>> {
  const operation: CatalogOperation = {
    id: randomUUID(),
    method: input.method,
    path_pattern: input.pathPattern,
    resource: input.resource ?? null,
    operation_id: null,
    source: 'manual',
    description: input.description,
    required_scopes: input.requiredScopes,
    auth: input.auth ?? 'token',
    mtls: input.mtls ?? 'required',
    dpop: input.dpop ?? 'refused',
    owner_param: input.ownerParam ?? null,
    status: input.status ?? 'active',
    ...(input.rateLimit != null ? { rate_limit: input.rateLimit } : {}),
  };
  const result = await editCatalog(tx, meta, (doc) => void doc.operations.push(operation), {
    action: 'catalog.operation.create',
    targetType: 'catalog_operation',
    targetId: operation.id,
    details: auditDetails(operation),
  });
  return {
    ...findOperation(result.document, operation.id),
    stage: meta.stage ?? 'active',
    revision: result.revision,
    warnings: result.findings,
  };
}

export async function updateCatalogOperation(
  tx: Tx,
  id: string,
  patch: Partial<CatalogOperationInput>,
  meta: CatalogEditMeta,
): Promise<CatalogEdited<CatalogOperation>> {
  const result = await editCatalog(
    tx,
    meta,
    (doc) => {
      const o = findOperation(doc, id);
      if (patch.method !== undefined) o.method = patch.method;
      if (patch.pathPattern !== undefined) o.path_pattern = patch.pathPattern;
      if (patch.requiredScopes !== undefined) o.required_scopes = patch.requiredScopes;
      if (patch.description !== undefined) o.description = patch.description;
      if (patch.resource !== undefined) o.resource = patch.resource;
      if (patch.auth !== undefined) o.auth = patch.auth;
      if (patch.mtls !== undefined) o.mtls = patch.mtls;
      if (patch.dpop !== undefined) o.dpop = patch.dpop;
      if (patch.ownerParam !== undefined) o.owner_param = patch.ownerParam;
      if (patch.status !== undefined) o.status = patch.status;
      if (patch.rateLimit === null) delete o.rate_limit;
      else if (patch.rateLimit !== undefined) o.rate_limit = patch.rateLimit;
      // A public operation needs no scope: making one public drops them, unless the patch sets both.
      if (patch.auth === 'public' && patch.requiredScopes === undefined) o.required_scopes = [];
    },
    { action: 'catalog.operation.update', targetType: 'catalog_operation', targetId: id },
  );
  const after = findOperation(result.document, id);
  return { ...after, stage: meta.stage ?? 'active', revision: result.revision, warnings: result.findings };
}

export async function deleteCatalogOperation(
  tx: Tx,
  id: string,
  meta: CatalogEditMeta,
): Promise<{ stage: CatalogStage; revision: number; warnings: CatalogFinding[] }> {
  const result = await editCatalog(
    tx,
    meta,
    (doc) => {
      findOperation(doc, id);
      doc.operations = doc.operations.filter((o) => o.id !== id);
    },
    {
      action: 'catalog.operation.delete',
      targetType: 'catalog_operation',
      targetId: id,
    },
  );
  return { stage: meta.stage ?? 'active', revision: result.revision, warnings: result.findings };
}
