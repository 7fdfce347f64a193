import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { recordAuditEvent } from '../../src/audit/index.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import {
  CHANGE_KINDS,
  type Change,
  type Database,
  openStorage,
  publishChange,
  type Storage,
  type Tx,
} from '../../src/storage/index.ts';
import { MigrationError, migrateToLatest } from '../../src/storage/migrate.ts';
import { createNodeSqliteDialect, openSqliteDatabase } from '../../src/storage/sqlite-dialect.ts';
import { engineTargets, POSTGRES_URL } from '../support/engines.ts';

const targets = await engineTargets();
const NOW = new Date('2026-01-02T03:04:05.000Z');
// SQLite's extended result code for "database or disk is full" (https://sqlite.org/rescode.html#full).
const SQLITE_FULL = 13;

const auditEvent = (targetId: string, details?: Record<string, unknown>) => ({
  actor: 'operator:test',
  action: 'org.update',
  targetType: 'organisation',
  targetId,
  ...(details ? { details } : {}),
});

/** Caps the SQLite file at its current size, so any write needing a new page fails with SQLITE_FULL. */
async function capAtCurrentSize(storage: Storage): Promise<void> {
  const { rows } = await sql<{ page_count: number }>`PRAGMA page_count`.execute(storage.db);
  const pages = Number(rows[0]?.page_count);
  assert.ok(pages > 0);
  await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(storage.db);
}

/** A write that needs about a megabyte: far more than a capped database has room for. */
const oversizedWrite = (storage: Storage, targetId: string) =>
  storage.transaction(async (tx) => {
    await recordAuditEvent(tx, auditEvent(`${targetId}-small`), NOW);
    await publishChange(tx, { kind: CHANGE_KINDS.orgStatus, entityId: targetId, payload: {} }, NOW);
    await recordAuditEvent(tx, auditEvent(targetId, { blob: 'x'.repeat(1_000_000) }), NOW);
  });

function isSqliteFull(err: unknown): boolean {
  const e = err as { errcode?: unknown; errstr?: unknown; message?: unknown };
  assert.doesNotMatch(String(e.message), /no transaction is active/, 'the rollback error replaced the cause');
  assert.equal(e.errcode, SQLITE_FULL);
  assert.equal(e.errstr, 'database or disk is full');
  return true;
}

describe('storage transactions: SQLite disk full (issue 9 item 8)', () => {
  const sqlite = targets.find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  after(() => sqlite.cleanup());

  test('fail/SQLITE_FULL inside a transaction is the thrown error, not the failed ROLLBACK after it', async () => {
    const storage = await openStorage(sqlite.freshOptions());
    try {
      await storage.feed.start();
      const seen: Change[] = [];
      storage.feed.subscribe((c) => seen.push(c));
      await capAtCurrentSize(storage);

      let thrown: unknown;
      await assert.rejects(
        oversizedWrite(storage, 'org-big').catch((err) => {
          thrown = err;
          throw err;
        }),
        isSqliteFull,
      );
      // SQLite rolled back on its own; the ROLLBACK that followed failed and is kept beside the cause.
      const rollbackError = (thrown as { rollbackError?: Error }).rollbackError;
      if (rollbackError) assert.match(rollbackError.message, /no transaction is active/);

      // Nothing half-written: neither the small audit record before the failure nor the change.
      assert.equal((await storage.db.selectFrom('audit_log').selectAll().execute()).length, 0);
      assert.equal(await storage.feed.currentSeq(), 0);
      await storage.feed.sync();
      assert.deepEqual(seen, []);

      // Still usable: a small write fits, and a big one once there is room again.
      await storage.transaction((tx) => recordAuditEvent(tx, auditEvent('org-small'), NOW));
      await sql.raw('PRAGMA max_page_count = 1073741823').execute(storage.db);
      await oversizedWrite(storage, 'org-big');
      const ids = (await storage.db.selectFrom('audit_log').select('target_id').orderBy('seq').execute()).map(
        (r) => r.target_id,
      );
      assert.deepEqual(ids, ['org-small', 'org-big-small', 'org-big']);
    } finally {
      await storage.close();
    }
  });

  test('fail/a request that hits SQLITE_FULL answers 500 problem+json and the request log names the cause', async () => {
    const storage = await openStorage(sqlite.freshOptions());
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const app = createHttpsServer({ tls: {}, logger: pino({ level: 'info' }, sink) });
    app.post('/write', async () => {
      await oversizedWrite(storage, 'org-http');
      return { ok: true };
    });
    try {
      await app.ready();
      await capAtCurrentSize(storage);
      const res = await app.inject({ method: 'POST', url: '/write' });
      assert.equal(res.statusCode, 500);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.doesNotMatch(res.body, /database or disk is full|at Object\.run|\.ts:\d+/);

      const failed = lines.find((l) => l.msg === 'request failed');
      assert.ok(failed, 'the failure is logged');
      const err = failed.err as { message?: string; errcode?: number; errstr?: string };
      assert.equal(err.errcode, SQLITE_FULL);
      assert.equal(err.errstr, 'database or disk is full');
      assert.equal(err.message, 'database or disk is full');
    } finally {
      await app.close();
      await storage.close();
    }
  });

  test('fail/a migration that fills the disk names SQLITE_FULL, and the next start completes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accredit-full-'));
    const file = openSqliteDatabase(join(dir, 'accredit.db'));
    const db = new Kysely<Database>({ dialect: createNodeSqliteDialect(file) });
    try {
      // Room for the bookkeeping table and a little more, not for the whole schema.
      file.exec('PRAGMA max_page_count = 8');
      await assert.rejects(migrateToLatest(db, 'sqlite'), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.match(err.message, /database or disk is full/);
        return isSqliteFull(err.cause);
      });
      file.exec('PRAGMA max_page_count = 1073741823');
      const applied = await migrateToLatest(db, 'sqlite');
      assert.ok(applied.length > 0);
      assert.deepEqual(await migrateToLatest(db, 'sqlite'), []);
      assert.deepEqual(await db.selectFrom('organisations').selectAll().execute(), []);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const target of targets) {
  describe(`storage transactions keep the failure's own cause: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('fail/a constraint violation inside a transaction is thrown as itself and rolls everything back', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        const org = (id: string) => ({
          id,
          name: 'Acme',
          name_key: 'acme',
          status: 'active' as const,
          created_at: NOW.toISOString(),
          updated_at: NOW.toISOString(),
        });
        await storage.db.insertInto('organisations').values(org('org-1')).execute();
        await assert.rejects(
          storage.transaction(async (tx) => {
            await recordAuditEvent(tx, auditEvent('org-2'), NOW);
            await tx.db.insertInto('organisations').values(org('org-2')).execute();
          }),
          (err: { code?: string; message?: string }) => {
            // PostgreSQL unique_violation (SQLSTATE 23505); node:sqlite reports SQLITE_CONSTRAINT_UNIQUE.
            if (target.name === 'postgres') assert.equal(err.code, '23505');
            else assert.match(String(err.message), /UNIQUE constraint failed/);
            return true;
          },
        );
        assert.equal((await storage.db.selectFrom('audit_log').selectAll().execute()).length, 0);
        const orgs = await storage.db.selectFrom('organisations').select('id').execute();
        assert.deepEqual(
          orgs.map((o) => o.id),
          ['org-1'],
        );
        await storage.transaction((tx) => recordAuditEvent(tx, auditEvent('org-1'), NOW));
      } finally {
        await storage.close();
      }
    });
  });
}

describe('storage survives PostgreSQL ending its connections (restart, failover)', () => {
  const pgTarget = targets.find((t) => t.name === 'postgres');
  assert.ok(pgTarget);
  after(() => pgTarget.cleanup());

  /** Ends one backend from outside, as a server restart or an operator's pg_terminate_backend does. */
  async function terminate(pid: number): Promise<void> {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
  }
  const backendPid = async (db: Storage['db'] | Tx['db']) =>
    Number((await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]?.pid);

  test('ok/an idle pooled connection ended by the server is dropped, and the next query works', {
    skip: pgTarget.skip,
  }, async () => {
    const storage = await openStorage(pgTarget.freshOptions());
    try {
      const pid = await backendPid(storage.db);
      await terminate(pid);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.notEqual(await backendPid(storage.db), pid);
    } finally {
      await storage.close();
    }
  });

  test('fail/a connection ended inside a transaction fails that transaction with its own error; nothing written', {
    skip: pgTarget.skip,
  }, async () => {
    const storage = await openStorage(pgTarget.freshOptions());
    try {
      await assert.rejects(
        storage.transaction(async (tx) => {
          await recordAuditEvent(tx, auditEvent('org-gone'), NOW);
          await terminate(await backendPid(tx.db));
          await new Promise((resolve) => setTimeout(resolve, 200));
          await recordAuditEvent(tx, auditEvent('org-gone-2'), NOW);
        }),
        (err: Error & { rollbackError?: Error }) => {
          // The failed statement's error is thrown; the ROLLBACK that could not reach the server rides along.
          assert.match(err.message, /connection error|terminat/i);
          assert.ok(err.rollbackError instanceof Error, 'the failed rollback is attached, not thrown');
          assert.notEqual(err.rollbackError, err);
          return true;
        },
      );
      assert.equal((await storage.db.selectFrom('audit_log').selectAll().execute()).length, 0);
      await storage.transaction((tx) => recordAuditEvent(tx, auditEvent('org-after'), NOW));
    } finally {
      await storage.close();
    }
  });
});
