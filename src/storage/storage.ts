import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type Change, ChangeFeed } from './change-feed.ts';
import type { Engine } from './engine.ts';
import { migrateToLatest } from './migrate.ts';
import { runInTransaction } from './run-in-transaction.ts';
import type { Database } from './schema.ts';
import { createNodeSqliteDialect, openSqliteDatabase } from './sqlite-dialect.ts';
import type { Tx } from './tx.ts';

export interface StorageOptions {
  /** `postgres://…` selects PostgreSQL; anything else is a SQLite file path. */
  url: string;
  /** PostgreSQL schema (search_path); lets several deployments or test runs share one database. */
  schema?: string;
  /** How often other processes' changes are looked for when the engine has no notifications (SQLite). */
  pollIntervalMs?: number;
}

export interface Storage {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  readonly feed: ChangeFeed;
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function engineOf(url: string): Engine {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

function ignoreConnectionError(): void {}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openStorage(options: StorageOptions): Promise<Storage> {
  const engine = engineOf(options.url);
  let db: Kysely<Database>;
  let pgConfig: pg.ClientConfig | undefined;
  if (engine === 'postgres') {
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
      throw new Error(`database.schema: "${options.schema}" is not a plain lower-case identifier`);
    }
    pgConfig = { connectionString: options.url };
    if (options.schema) pgConfig.options = `-c search_path=${options.schema}`;
    const pool = new pg.Pool({ ...pgConfig, max: 10 });
    // A connection the server ends (restart, failover, pg_terminate_backend) emits 'error', and an unheard
    // 'error' ends the process. The query in flight fails on its own and the pool drops the broken client.
    pool.on('error', ignoreConnectionError);
    pool.on('connect', (client) => client.on('error', ignoreConnectionError));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (options.schema) {
      const admin = new pg.Client({ connectionString: options.url });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
      } finally {
        await admin.end();
      }
    }
  } else {
    const path = options.url.replace(/^sqlite:(\/\/)?/, '');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Kysely<Database>({ dialect: createNodeSqliteDialect(openSqliteDatabase(path)) });
  }

  try {
    await migrateToLatest(db, engine);
  } catch (err) {
    await db.destroy();
    throw err;
  }

  const feed = new ChangeFeed(db, engine, { pgConfig, pollIntervalMs: options.pollIntervalMs ?? 250 });

  return {
    db,
    engine,
    feed,
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const published: Change[] = [];
      const result = await runInTransaction(db, (trx) => fn({ db: trx, engine, published }));
      // Deliver to this process's subscribers before the caller answers, so "revoked" is true the moment it is said.
      if (published.length > 0) await feed.sync();
      return result;
    },
    async close() {
      await feed.stop();
      await db.destroy();
    },
  };
}
