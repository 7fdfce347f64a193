import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage, type Storage, type StorageOptions } from '../../src/storage/index.ts';

export const POSTGRES_URL =
  process.env.ACCREDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface EngineTarget {
  name: 'sqlite' | 'postgres';
  /** Set when the engine cannot be tested here; the suite is skipped with this reason printed. */
  skip: string | false;
  /** Storage options for a fresh, isolated database (a new file or a new schema). */
  freshOptions(): StorageOptions;
  /** Drops whatever freshOptions created. */
  cleanup(): Promise<void>;
}

let pgProbe: Promise<string | false> | undefined;

async function probePostgres(): Promise<string | false> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return false;
  } catch (err) {
    const reason = `PostgreSQL not reachable at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}`;
    if (process.env.ACCREDIT_TEST_POSTGRES === 'required') {
      throw new Error(`${reason} (ACCREDIT_TEST_POSTGRES=required)`);
    }
    console.log(`# skipping PostgreSQL tests: ${reason}`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function engineTargets(): Promise<EngineTarget[]> {
  pgProbe ??= probePostgres();
  const pgSkip = await pgProbe;
  const dirs: string[] = [];
  const schemas: string[] = [];
  return [
    {
      name: 'sqlite',
      skip: false,
      freshOptions() {
        const dir = mkdtempSync(join(tmpdir(), 'accredit-sqlite-'));
        dirs.push(dir);
        return { url: join(dir, 'accredit.db'), pollIntervalMs: 50 };
      },
      async cleanup() {
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      },
    },
    {
      name: 'postgres',
      skip: pgSkip,
      freshOptions() {
        const schema = `t_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        return { url: POSTGRES_URL, schema, pollIntervalMs: 50 };
      },
      async cleanup() {
        if (schemas.length === 0) return;
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        try {
          for (const schema of schemas.splice(0))
            await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      },
    },
  ];
}

export async function openFresh(target: EngineTarget): Promise<Storage> {
  return openStorage(target.freshOptions());
}
