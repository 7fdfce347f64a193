import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DOORS = fileURLToPath(new URL('../../src/doors/', import.meta.url));
// Doors run where the platform's database is not (a Lambda function): the gateway's code and shared pieces only.
const ALLOWED = /^(\.\/|\.\.\/(?!\.\.)|(\.\.\/)+(gateway|shared)\/)/;

test('fail/no door source imports the platform, storage, directory or another role', () => {
  const offending: string[] = [];
  for (const name of readdirSync(DOORS, { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue;
    const source = readFileSync(join(DOORS, name), 'utf8');
    for (const [, from] of source.matchAll(/from '([^']+)'/g)) {
      if (!from?.startsWith('.')) continue;
      const depth = name.split('/').length - 1;
      // Up to src/ is `depth + 1` levels; anything there but gateway/ and shared/ is another role.
      const toSrc = '../'.repeat(depth + 1);
      const inside = !from.startsWith(toSrc) || /^(gateway|shared)\//.test(from.slice(toSrc.length));
      if (!inside || !ALLOWED.test(from)) offending.push(`${name}: ${from}`);
    }
  }
  assert.deepEqual(offending, []);
});
