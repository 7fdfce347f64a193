import { readFileSync } from 'node:fs';
import { importOpenApi, parseOpenApi } from '../../../src/directory/catalog-import/index.ts';
import type { ImportOpenApiOptions } from '../../../src/directory/catalog-import/map-openapi.ts';

const DIR = new URL('./fixtures/', import.meta.url);

/** The text of a fixture under fixtures/. */
export const fixture = (name: string): string => readFileSync(new URL(name, DIR), 'utf8');

/** Parses and maps a fixture; fails the test if parsing found anything (the fixture is meant to parse). */
export async function importFixture(name: string, options: ImportOpenApiOptions = {}) {
  const parsed = await parseOpenApi(fixture(name));
  if (!parsed.spec) throw new Error(`${name} did not parse: ${JSON.stringify(parsed.findings)}`);
  return importOpenApi(parsed.spec, options);
}

/** Finding codes with their pointers, in order: what most assertions compare. */
export const codes = (findings: ReadonlyArray<{ severity: string; code: string; pointer: string }>) =>
  findings.map((f) => `${f.severity} ${f.code} ${f.pointer}`);
