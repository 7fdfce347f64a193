import { TABLE_OWNERS, type TableName } from '../../src/storage/table-owners.ts';

/** One place a source file names a table: in a Kysely call, a `'table.column'` reference, a row type or raw SQL. */
export interface TableReference {
  line: number;
  table: TableName;
}

const TABLES = new Set<string>(Object.keys(TABLE_OWNERS));
const isTable = (name: string): name is TableName => TABLES.has(name);

// Kysely entry points whose first argument is a table: `selectFrom('x')`, `innerJoin('x as y', …)`, `sql.table('x')`…
const CALL =
  /\.(?:selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|innerJoin|leftJoin|rightJoin|fullJoin|crossJoin|innerJoinLateral|leftJoinLateral|using|table)\(\s*\[?\s*['"`]([a-z_]+)/g;
// A qualified column (`'applications.org_id'`) or a row type (`Database['certificates']`).
const QUALIFIED = /['"`]([a-z_]+)\.[a-z_*]+['"`]/g;
const ROW_TYPE = /Database\[\s*['"]([a-z_]+)['"]\s*\]/g;
// Raw SQL: any table name inside a `sql` template.
const RAW_SQL = /\bsql(?:<[^>]*>)?`([^`]*)`/g;

/** Every table the source names, with its 1-based line, in source order. */
export function findTableReferences(source: string): TableReference[] {
  const found: { index: number; table: TableName }[] = [];
  for (const pattern of [CALL, QUALIFIED, ROW_TYPE]) {
    for (const match of source.matchAll(pattern)) {
      const name = match[1] ?? '';
      if (isTable(name)) found.push({ index: match.index, table: name });
    }
  }
  for (const match of source.matchAll(RAW_SQL)) {
    // Interpolations are code, scanned by the patterns above: blank them, keeping offsets.
    const body = (match[1] ?? '').replace(/\$\{[^}]*\}/g, (code) => ' '.repeat(code.length));
    const bodyStart = match.index + match[0].indexOf('`') + 1;
    for (const word of body.matchAll(/\b[a-z_]+\b/g)) {
      if (isTable(word[0])) found.push({ index: bodyStart + word.index, table: word[0] });
    }
  }
  found.sort((a, b) => a.index - b.index);
  return found.map(({ index, table }) => ({ line: lineOf(source, index), table }));
}

function lineOf(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}
