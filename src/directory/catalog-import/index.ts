/** Importing a provider's OpenAPI description into the access catalog: parse, map, merge. Pure functions. */
export { hasErrors, type ImportFinding } from './findings.ts';
export {
  type ImportCatalogInput,
  type ImportCatalogResult,
  importCatalog,
  prepareImport,
} from './import-catalog.ts';
export {
  type ImportedCatalog,
  type ImportedOperation,
  type ImportOpenApiOptions,
  importOpenApi,
} from './map-openapi.ts';
export {
  type ChangedOperation,
  type ChangedResource,
  type ChangedScope,
  type ImportDiff,
  type ImportToMerge,
  type MergedImport,
  type MergeImportOptions,
  mergeImport,
} from './merge-import.ts';
export {
  MAX_OPENAPI_BYTES,
  MAX_OPENAPI_DEPTH,
  type OpenApiDocument,
  type ParsedOpenApi,
  type ParseOpenApiOptions,
  parseOpenApi,
} from './parse-openapi.ts';
