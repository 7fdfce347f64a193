import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  applyMetadataPolicy,
  combineMetadataPolicies,
  type MetadataPolicy,
  MetadataPolicyError,
} from '../../src/federation/index.ts';

// Connect2id's metadata policy test vectors for OpenID Federation 1.0 (2025-02-13); source and selection in
// fixtures/metadata-policy-test-vectors.README.md.
type Vector = {
  n: number;
  combination: string[];
  TA: MetadataPolicy;
  INT: MetadataPolicy;
  merged?: MetadataPolicy;
  metadata: Record<string, unknown>;
  resolved?: Record<string, unknown>;
  error?: 'invalid_policy' | 'invalid_metadata';
};

const vectors: Vector[] = JSON.parse(
  readFileSync(
    new URL('./fixtures/metadata-policy-test-vectors-2025-02-13.subset.json', import.meta.url),
    'utf8',
  ),
);

/** The order of a merged operator value is not defined (§6.1.3), so arrays compare as sorted. */
const sortArrays = (v: unknown): unknown => {
  if (Array.isArray(v))
    return v.map(sortArrays).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortArrays(x)]));
  }
  return v;
};

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MetadataPolicyError, `expected MetadataPolicyError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('metadata policy: Connect2id test vectors (OpenID Federation 1.0 §6.1)', () => {
  it('ok/the fixture holds vectors of every outcome', () => {
    assert.ok(vectors.length > 0);
    assert.ok(vectors.some((v) => v.error === 'invalid_policy'));
    assert.ok(vectors.some((v) => v.error === 'invalid_metadata'));
    assert.ok(vectors.some((v) => v.error === undefined));
  });

  for (const v of vectors) {
    const outcome = v.error ?? 'resolved';
    const name = `${v.error ? 'fail' : 'ok'}/vector ${v.n} [${v.combination.join(', ')}] → ${outcome}`;
    it(name, () => {
      if (v.error === 'invalid_policy') {
        expectCode(() => combineMetadataPolicies(v.TA, v.INT), 'invalid_policy');
        return;
      }
      const merged = combineMetadataPolicies(v.TA, v.INT);
      assert.deepEqual(sortArrays(merged), sortArrays(v.merged));
      if (v.error === 'invalid_metadata') {
        expectCode(() => applyMetadataPolicy(merged, v.metadata), 'invalid_metadata');
        return;
      }
      assert.deepEqual(applyMetadataPolicy(merged, v.metadata), v.resolved);
    });
  }
});
