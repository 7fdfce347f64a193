import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const GATEWAY = fileURLToPath(new URL('../../src/gateway/', import.meta.url));

// `accredit gateway` runs where the platform's database is not: it loads nothing of the roles that hold one.
test('fail/no gateway source imports the platform, storage or another role', () => {
  const offending: string[] = [];
  for (const name of readdirSync(GATEWAY, { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue;
    const source = readFileSync(join(GATEWAY, name), 'utf8');
    for (const [, from] of source.matchAll(/from '([^']+)'/g)) {
      if (from?.startsWith('.') && !from.startsWith('./') && !from.startsWith('../shared/')) {
        offending.push(`${name}: ${from}`);
      }
    }
  }
  assert.deepEqual(offending, []);
});
