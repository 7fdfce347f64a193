import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { TABLE_OWNERS, type TableOwner } from '../../src/storage/table-owners.ts';
import { findTableReferences } from './find-table-references.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

// Files allowed to name tables they do not own, each with the reason.
const EXCEPTIONS: Record<string, string> = {
  // The schema and its migrations define every table.
  'src/storage/schema.ts': 'defines every table',
  'src/storage/migrations/': 'create every table',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('table ownership', () => {
  test('findTableReferences: every form a table is named in', () => {
    const cases: { name: string; source: string; expected: string[] }[] = [
      { name: 'ok/selectFrom', source: "db.selectFrom('applications')", expected: ['1:applications'] },
      { name: 'ok/alias', source: "db.selectFrom('certificates as c')", expected: ['1:certificates'] },
      { name: 'ok/insertInto', source: "db.insertInto('crls')", expected: ['1:crls'] },
      {
        name: 'ok/updateTable',
        source: "db\n  .updateTable('organisations')",
        expected: ['2:organisations'],
      },
      { name: 'ok/deleteFrom', source: "db.deleteFrom('oidc_models')", expected: ['1:oidc_models'] },
      {
        name: 'ok/join and qualified columns',
        source: "q.innerJoin('organisations', 'organisations.id', 'applications.org_id')",
        expected: ['1:organisations', '1:organisations', '1:applications'],
      },
      {
        name: 'ok/leftJoin',
        source: "q.leftJoin('federation_registrations', 'a', 'b')",
        expected: ['1:federation_registrations'],
      },
      { name: 'ok/row type', source: "type Row = Database['certificates'];", expected: ['1:certificates'] },
      {
        name: 'ok/raw sql',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source code under test, not a template.
        source: 'await sql`SELECT id FROM\n certificate_authorities WHERE id = ${id}`.execute(db);',
        expected: ['2:certificate_authorities'],
      },
      {
        name: 'ok/sql.table',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source code under test, not a template.
        source: "sql`DELETE FROM ${sql.table('crls')}`",
        expected: ['1:crls'],
      },
      {
        name: 'ok/aliased join',
        source: "q.innerJoin('organisations as o', 'o.id', 's.org_id')",
        expected: ['1:organisations'],
      },
      { name: 'ok/not a table', source: "db.selectFrom('nothing'); const roles = ['a'];", expected: [] },
      { name: 'ok/column named like a table', source: "q.where('scopes', '=', x)", expected: [] },
    ];
    for (const c of cases) {
      const got = findTableReferences(c.source).map((r) => `${r.line}:${r.table}`);
      assert.deepEqual(got, c.expected, c.name);
    }
  });

  test('every table has an owner that is a role folder', () => {
    const roles = new Set(readdirSync(SRC));
    for (const [table, owners] of Object.entries(TABLE_OWNERS)) {
      assert.ok(owners.length > 0, table);
      for (const owner of owners) assert.ok(roles.has(owner), `${table}: ${owner} is not a folder of src/`);
    }
  });

  test('no role names a table it does not own', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(ROOT, file).split('\\').join('/');
      if (
        Object.keys(EXCEPTIONS).some(
          (allowed) => path === allowed || (allowed.endsWith('/') && path.startsWith(allowed)),
        )
      )
        continue;
      const role = path.split('/')[1] ?? '';
      for (const { line, table } of findTableReferences(readFileSync(file, 'utf8'))) {
        const owners: readonly TableOwner[] = TABLE_OWNERS[table];
        if (!owners.some((owner) => owner === role)) {
          violations.push(`${path}:${line} names ${table}, owned by ${owners.join(', ')}`);
        }
      }
    }
    assert.deepEqual(violations, [], `roles name tables they do not own:\n${violations.join('\n')}`);
  });
});
