import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequestIds } from '../../src/gateway/request-id.ts';

test('ok/request ids are random UUIDs: unique, and nothing to learn from two consecutive ones', () => {
  const next = createRequestIds();
  const ids = Array.from({ length: 10_000 }, next);
  for (const id of ids.slice(0, 100))
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  // Consecutive ids share no prefix a partner could use to count other partners' requests.
  assert.notEqual(ids[0]!.slice(0, 24), ids[1]!.slice(0, 24));
});
