import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

/** `accredit gateway` refuses unusable DPoP settings with one line, before anything starts. */

const dir = mkdtempSync(join(tmpdir(), 'accredit-dpop-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['ca', 'cred', 'cert', 'key']) writeFileSync(join(dir, f), 'x\n', { mode: 0o600 });
writeFileSync(join(dir, 'short'), 'short', { mode: 0o600 });

function run(...extra: string[]) {
  const args = [
    'src/cli/main.ts',
    '--json',
    'gateway',
    '--platform-url',
    'https://platform.example',
    '--ca',
    join(dir, 'ca'),
    '--credential-file',
    join(dir, 'cred'),
    '--tls-cert',
    join(dir, 'cert'),
    '--tls-key',
    join(dir, 'key'),
    '--upstream',
    'http://127.0.0.1:1',
    ...extra,
  ];
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

test('fail/--dpop-nonce other than required or off', () => {
  const res = run('--dpop-nonce', 'sometimes');
  assert.equal(res.status, 1);
  assert.match(res.out, /"code":"invalid_input","message":"--dpop-nonce: expected required or off"/);
});

test('fail/a DPoP nonce secret file shorter than 32 bytes', () => {
  const res = run('--dpop-nonce-secret-file', join(dir, 'short'));
  assert.equal(res.status, 1);
  assert.match(res.out, /--dpop-nonce-secret-file: at least 32 bytes/);
});

test('fail/--redis-ca without a rediss:// URL, or a file that is not PEM certificates', () => {
  writeFileSync(join(dir, 'redis-ca.pem'), 'not a certificate\n');
  const plain = run('--redis-url', 'redis://127.0.0.1:6379', '--redis-ca', join(dir, 'redis-ca.pem'));
  assert.equal(plain.status, 1);
  assert.match(
    plain.out,
    /"code":"invalid_input","message":"--redis-ca: needs a rediss:\/\/ \(TLS\) --redis-url"/,
  );
  const none = run('--redis-ca', join(dir, 'redis-ca.pem'));
  assert.equal(none.status, 1);
  assert.match(none.out, /--redis-ca: needs a rediss:\/\//);
  const notPem = run('--redis-url', 'rediss://127.0.0.1:6380', '--redis-ca', join(dir, 'redis-ca.pem'));
  assert.equal(notPem.status, 1);
  assert.match(notPem.out, /--redis-ca: expected a PEM file of certificates/);
});
