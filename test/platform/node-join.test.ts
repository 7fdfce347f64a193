import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTtl } from '../../src/cli/commands/node.ts';
import { loadConfig } from '../../src/platform/config.ts';
import {
  createJoinLimiter,
  createJoinToken,
  normaliseFingerprint,
  sharedConfigOf,
} from '../../src/platform/node-join.ts';
import { openStorage } from '../../src/storage/index.ts';

test('refused/a platform on SQLite cannot be joined: no token is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-join-'));
  const storage = await openStorage({ url: join(dir, 'accredit.db') });
  try {
    await assert.rejects(
      storage.transaction((tx) => createJoinToken(tx, { ttlSeconds: 900, actor: 'op', now: new Date() })),
      (err: { code?: string; status?: number }) => err.code === 'join_needs_postgres' && err.status === 409,
    );
    assert.equal((await storage.db.selectFrom('node_join_tokens').selectAll().execute()).length, 0);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ok/the limiter refuses an address after its failures, and everyone after the total, within the window', () => {
  const limiter = createJoinLimiter({ perAddress: 2, total: 3, windowMs: 1000 });
  assert.equal(limiter.limited('a', 0), false);
  limiter.failed('a', 0);
  limiter.failed('a', 10);
  assert.equal(limiter.limited('a', 20), true);
  assert.equal(limiter.limited('b', 20), false);
  limiter.failed('b', 30);
  assert.equal(limiter.limited('c', 40), true, 'the total is reached');
  assert.equal(limiter.limited('a', 1011), false, 'the window moved on');
});

test('ok/fingerprints in any usual spelling; TTLs from 1 minute to 24 hours', () => {
  const hex = 'ab'.repeat(32);
  assert.equal(normaliseFingerprint(`sha256:${hex.toUpperCase()}`), hex);
  assert.equal(normaliseFingerprint(hex.match(/../g)!.join(':')), hex);
  assert.equal(parseTtl('15m'), 900);
  assert.equal(parseTtl('1h'), 3600);
  assert.equal(parseTtl('60'), 60);
  assert.throws(() => parseTtl('59s'));
  assert.throws(() => parseTtl('25h'));
  assert.throws(() => parseTtl('soon'));
});

test('ok/the shared settings carry URLs and the database, never this node’s files or log level', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-join-'));
  try {
    const config = loadConfig(dir, {
      ACCREDIT_DATABASE_URL: 'postgres://db.internal/accredit',
      ACCREDIT_PUBLIC_URL: 'https://api.example.com',
      ACCREDIT_LOG_LEVEL: 'debug',
    });
    const shared = sharedConfigOf(config) as Record<string, Record<string, unknown>>;
    assert.equal(shared.database!.url, 'postgres://db.internal/accredit');
    assert.equal(shared.publicUrl as unknown, 'https://api.example.com');
    assert.equal(shared.logLevel, undefined);
    assert.equal(shared.notifications, undefined);
    assert.equal(shared.login, undefined);
    assert.ok(!JSON.stringify(shared).includes(dir), 'no path of this node');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
