import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/platform/config.ts';
import { KEK_FILE, loadKek } from '../../src/platform/kek.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-kek-'));
after(() => rmSync(root, { recursive: true, force: true }));

const dataDir = () => mkdtempSync(join(root, 'data-'));
const ENV_KEK = 'k'.repeat(32);

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

describe('loadKek', () => {
  test('ok/created at init with mode 0600; read back unchanged', () => {
    const dir = dataDir();
    const kek = loadKek(dir, { create: true }, {});
    assert.match(kek, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(join(dir, KEK_FILE)).mode & 0o777, 0o600);
    assert.equal(loadKek(dir, { create: false }, {}), kek);
    assert.equal(loadKek(dir, { create: true }, {}), kek, 'an existing key is never replaced');
  });

  test('ok/ACCREDIT_KEK wins over the file, and no file is needed or created', () => {
    const dir = dataDir();
    loadKek(dir, { create: true }, {});
    assert.equal(loadKek(dir, { create: false }, { ACCREDIT_KEK: ENV_KEK }), ENV_KEK);
    const empty = dataDir();
    assert.equal(loadKek(empty, { create: true }, { ACCREDIT_KEK: ENV_KEK }), ENV_KEK);
    assert.equal(existsSync(join(empty, KEK_FILE)), false);
  });

  test('fail/ACCREDIT_KEK shorter than 32 characters', () => {
    rejects(
      () => loadKek(dataDir(), { create: true }, { ACCREDIT_KEK: ENV_KEK.slice(1) }),
      /^ACCREDIT_KEK: /,
    );
  });

  test('fail/no file and no create → ConfigError pointing at ACCREDIT_KEK; nothing is created', () => {
    const dir = dataDir();
    rejects(() => loadKek(dir, { create: false }, {}), /set ACCREDIT_KEK/);
    assert.equal(existsSync(join(dir, KEK_FILE)), false);
  });

  test('fail/a kek file readable by others (0644) is refused with the chmod to run', () => {
    const dir = dataDir();
    const kek = loadKek(dir, { create: true }, {});
    const file = join(dir, KEK_FILE);
    chmodSync(file, 0o644);
    rejects(
      () => loadKek(dir, { create: false }, {}),
      new RegExp(`permissions 644 .*run chmod 600 ${file}$`),
    );
    chmodSync(file, 0o600);
    assert.equal(loadKek(dir, { create: false }, {}), kek);
  });

  test('fail/a kek file with a short key', () => {
    const dir = dataDir();
    writeFileSync(join(dir, KEK_FILE), 'short\n', { mode: 0o600 });
    rejects(() => loadKek(dir, { create: false }, {}), /too short/);
  });
});
