import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_FILE, loadConfig } from '../../src/platform/config.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-webhooks-config-'));
let n = 0;
function dataDir(file?: unknown): string {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  if (file !== undefined) writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(file));
  return dir;
}

describe('config: webhooks', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('ok/from the file and the environment; caFile relative to the data directory', () => {
    const dir = dataDir({ webhooks: { retrySchedule: [5, 50], caFile: 'receivers.pem', maxAgeHours: 48 } });
    writeFileSync(join(dir, 'receivers.pem'), '');
    const c = loadConfig(dir, {
      ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      ACCREDIT_WEBHOOKS_TIMEOUT_MS: '3000',
      ACCREDIT_WEBHOOKS_RETENTION_DAYS: '7',
    });
    assert.deepEqual(c.webhooks, {
      allowPrivateAddresses: true,
      caFile: join(dir, 'receivers.pem'),
      timeoutMs: 3000,
      retrySchedule: [5, 50],
      maxAgeHours: 48,
      pollIntervalMs: 1000,
      retentionDays: 7,
    });
    assert.deepEqual(
      loadConfig(dir, { ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: '1, 2,3' }).webhooks.retrySchedule,
      [1, 2, 3],
    );
  });

  test('bad/each refused value names its key', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'yes' },
        /ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: expected true or false/,
      ],
      [{ ACCREDIT_WEBHOOKS_TIMEOUT_MS: '10' }, /ACCREDIT_WEBHOOKS_TIMEOUT_MS: expected an integer from 1000/],
      [
        { ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: '10,0' },
        /ACCREDIT_WEBHOOKS_RETRY_SCHEDULE\[1\]: expected an integer from 1/,
      ],
      [
        { ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: '[]' },
        /ACCREDIT_WEBHOOKS_RETRY_SCHEDULE: expected 1 to 20 delays/,
      ],
      [{ ACCREDIT_WEBHOOKS_MAX_AGE_HOURS: '0' }, /ACCREDIT_WEBHOOKS_MAX_AGE_HOURS/],
      [
        { ACCREDIT_WEBHOOKS_CA_FILE: 'missing.pem' },
        /ACCREDIT_WEBHOOKS_CA_FILE: .*missing\.pem does not exist/,
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(dataDir(), env),
        { code: 'invalid_config', message },
        JSON.stringify(env),
      );
    }
  });
});
