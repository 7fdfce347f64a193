import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const GATEWAY = fileURLToPath(new URL('../../src/gateway/', import.meta.url));
const SHARED = fileURLToPath(new URL('../../src/shared/', import.meta.url));

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..');
}

// `accredit gateway` runs where the platform's database is not: it loads nothing of the roles that hold one.
test('fail/no gateway source imports the platform, storage or another role', () => {
  const offending: string[] = [];
  for (const name of readdirSync(GATEWAY, { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue;
    const file = join(GATEWAY, name);
    const source = readFileSync(file, 'utf8');
    for (const [, from] of source.matchAll(/from '([^']+)'/g)) {
      if (!from?.startsWith('.')) continue;
      const target = resolve(dirname(file), from);
      if (!inside(GATEWAY, target) && !inside(SHARED, target)) offending.push(`${name}: ${from}`);
    }
  }
  assert.deepEqual(offending, []);
});
