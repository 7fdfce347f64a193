import { randomUUID } from 'node:crypto';
import { invalidInput } from '../../shared/app-error.ts';
import type { Tx } from '../../storage/index.ts';
import type { CatalogChangeResult } from '../catalog-apply.ts';
import { editCatalog } from '../catalog-drafts.ts';
import type { CatalogFinding } from '../catalog-findings.ts';
import type { CatalogEditMeta } from '../catalog-operations.ts';
import type { ImportFinding } from './findings.ts';
import { type ImportOpenApiOptions, importOpenApi } from './map-openapi.ts';
import { mergeImport } from './merge-import.ts';
import { parseOpenApi } from './parse-openapi.ts';

export interface ImportCatalogInput extends ImportOpenApiOptions {
  /** The OpenAPI document as the operator gave it (JSON or YAML text). */
  document: string;
}

export interface ImportCatalogResult extends CatalogChangeResult {
  source: string;
  stage: 'active' | 'draft';
  /** Warnings of the document and of the resulting catalog. */
  warnings: Array<CatalogFinding | (ImportFinding & { target: string })>;
}

const asCatalogFinding = (f: ImportFinding) => ({ ...f, target: f.pointer === '' ? '#' : `#${f.pointer}` });

function refuse(findings: readonly ImportFinding[]): never {
  const errors = findings.filter((f) => f.severity === 'error').map(asCatalogFinding);
  throw invalidInput(`the OpenAPI document is refused: ${errors.map((f) => f.detail).join('; ')}`, {
    errors,
    warnings: findings.filter((f) => f.severity === 'warning').map(asCatalogFinding),
  });
}

/**
 * Parses and maps an OpenAPI document outside any transaction (no lock is held while a large document is
 * read), then merges it into the active catalog — or the draft — through the one door of every catalog
 * change: the result is validated whole, diffed, and applied (or only reported on a dry run).
 */
export async function prepareImport(input: ImportCatalogInput) {
  const parsed = await parseOpenApi(input.document);
  if (parsed.spec === null) refuse(parsed.findings);
  const imported = importOpenApi(parsed.spec, input);
  const found = [...parsed.findings, ...imported.findings];
  if (found.some((f) => f.severity === 'error')) refuse(found);
  return { imported, findings: found };
}

export async function importCatalog(
  tx: Tx,
  prepared: Awaited<ReturnType<typeof prepareImport>>,
  meta: CatalogEditMeta,
): Promise<ImportCatalogResult> {
  const { imported } = prepared;
  let mergeFindings: ImportFinding[] = [];
  const result = await editCatalog(
    tx,
    { ...meta, source: imported.source },
    (document) => {
      const merged = mergeImport(document, imported, { source: imported.source, newId: randomUUID });
      mergeFindings = merged.findings;
      const all = [...prepared.findings, ...mergeFindings];
      if (all.some((f) => f.severity === 'error')) refuse(all);
      Object.assign(document, merged.document);
    },
    {
      action: 'catalog.import',
      targetType: 'catalog',
      targetId: imported.source,
      details: { operations: imported.operations.length },
    },
  );
  return {
    ...result,
    source: imported.source,
    stage: meta.stage ?? 'active',
    warnings: [...[...prepared.findings, ...mergeFindings].map(asCatalogFinding), ...result.findings],
  };
}
