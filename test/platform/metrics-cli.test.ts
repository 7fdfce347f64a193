import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

/** `accredit gateway --metrics-*` refuses unusable metrics settings with one line, before anything starts. */

const dir = mkdtempSync(join(tmpdir(), 'accredit-metrics-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['ca', 'cred', 'cert', 'key']) writeFileSync(join(dir, f), 'x\n', { mode: 0o600 });
writeFileSync(join(dir, 'open.token'), 'metrics-scrape-token-0123456789-abcdefghijklmnop', { mode: 0o644 });
writeFileSync(join(dir, 'short.token'), 'short', { mode: 0o600 });

function run(...extra: string[]) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ACCREDIT_')),
  ) as NodeJS.ProcessEnv;
  const args = [
    'src/cli/main.ts',
    '--json',
    'gateway',
    ...['--platform-url', 'https://platform.example', '--ca', join(dir, 'ca')],
    ...[
      '--credential-file',
      join(dir, 'cred'),
      '--tls-cert',
      join(dir, 'cert'),
      '--tls-key',
      join(dir, 'key'),
    ],
    ...['--upstream', 'http://127.0.0.1:1'],
    ...extra,
  ];
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000, env });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

test('fail/--metrics-host off loopback without --metrics-token-file', () => {
  const res = run('--metrics-port', '9464', '--metrics-host', '0.0.0.0');
  assert.equal(res.status, 1);
  assert.match(
    res.out,
    /"code":"invalid_input","message":"--metrics-host 0\.0\.0\.0 is not loopback: --metrics-token-file is required"/,
  );
});

test('fail/a metrics token file others may read, or a short one; an out-of-range port', () => {
  const open = run('--metrics-port', '9464', '--metrics-token-file', join(dir, 'open.token'));
  assert.equal(open.status, 1);
  assert.match(open.out, /--metrics-token-file: .* is readable by others; run chmod 600/);
  assert.doesNotMatch(open.out, /metrics-scrape-token/);
  const short = run('--metrics-port', '9464', '--metrics-token-file', join(dir, 'short.token'));
  assert.equal(short.status, 1);
  assert.match(short.out, /at least 32 visible ASCII characters/);
  const port = run('--metrics-port', '70000');
  assert.equal(port.status, 1);
  assert.match(port.out, /--metrics-port: expected an integer from 0 to 65535/);
});
