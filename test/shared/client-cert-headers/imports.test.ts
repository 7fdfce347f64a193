import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../../src/shared/client-cert-headers/', import.meta.url));

// The gateway runs without the platform: what it calls here may load node builtins, the structured-field
// parser and this folder's own files, nothing else.
test('fail/client-cert-headers imports only node:, structured-headers and its own files', () => {
  const offending: string[] = [];
  for (const name of readdirSync(MODULE)) {
    if (!name.endsWith('.ts')) continue;
    const source = readFileSync(join(MODULE, name), 'utf8');
    for (const [, from] of source.matchAll(/from '([^']+)'/g)) {
      if (!from?.startsWith('node:') && from !== 'structured-headers' && !from?.startsWith('./')) {
        offending.push(`${name}: ${from}`);
      }
    }
  }
  assert.deepEqual(offending, []);
});
