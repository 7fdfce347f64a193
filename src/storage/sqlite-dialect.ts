import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';

// node:sqlite takes spread parameters and has no booleans; Kysely's SqliteDialect expects the better-sqlite3 shape.
function toSqlite(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p === undefined) return null;
    return p as SQLInputValue;
  });
}

function wrapStatement(stmt: StatementSync): SqliteStatement {
  return {
    reader: stmt.columns().length > 0,
    all: (parameters) => stmt.all(...toSqlite(parameters)),
    run: (parameters) => stmt.run(...toSqlite(parameters)),
    iterate: (parameters) => stmt.iterate(...toSqlite(parameters)),
  };
}

export function openSqliteDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // WAL lets a separate gateway process read while the platform writes; busy_timeout waits instead of failing.
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;',
  );
  return db;
}

export function createNodeSqliteDialect(db: DatabaseSync): SqliteDialect {
  const adapter: SqliteDatabase = {
    close: () => db.close(),
    // Our transactions write: take the write lock up front, or two readers upgrading at once deadlock (SQLITE_BUSY).
    prepare: (sql) => wrapStatement(db.prepare(/^begin$/i.test(sql.trim()) ? 'begin immediate' : sql)),
  };
  return new SqliteDialect({ database: adapter });
}
