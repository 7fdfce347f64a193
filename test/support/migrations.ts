import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type Database, engineOf, type StorageOptions } from '../../src/storage/index.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { createNodeSqliteDialect, openSqliteDatabase } from '../../src/storage/sqlite-dialect.ts';
import type { EngineTarget } from './engines.ts';

/** A database of the target engine migrated only through `through`, as a deployment of that release left it. */
export async function openThrough(
  target: EngineTarget,
  options: StorageOptions,
  through: string,
): Promise<Kysely<Database>> {
  let db: Kysely<Database>;
  if (target.name === 'postgres') {
    const admin = new pg.Client({ connectionString: options.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: options.url, options: `-c search_path=${options.schema}` });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    db = new Kysely<Database>({ dialect: createNodeSqliteDialect(openSqliteDatabase(options.url)) });
  }
  await migrateToLatest(db, engineOf(options.url), { through });
  return db;
}
