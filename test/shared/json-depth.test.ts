import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/shared/json-depth.ts';

const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('exceedsJsonDepth', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['ok/a flat object', '{"a":1,"b":[1,2,3]}', false],
    ['ok/exactly the limit, arrays', nested(MAX_JSON_DEPTH), false],
    ['ok/exactly the limit, objects', nestedObjects(MAX_JSON_DEPTH), false],
    ['ok/brackets inside strings do not count', JSON.stringify({ s: '['.repeat(10_000) }), false],
    ['ok/escaped quotes keep the string open', JSON.stringify({ s: `\\"${'{'.repeat(10_000)}` }), false],
    ['ok/siblings do not add up', `[${Array.from({ length: 1000 }, () => nested(10)).join(',')}]`, false],
    ['fail/one level past the limit, arrays', nested(MAX_JSON_DEPTH + 1), true],
    ['fail/one level past the limit, objects', nestedObjects(MAX_JSON_DEPTH + 1), true],
    ['fail/20,000 levels (no stack overflow in the check)', nested(20_000), true],
    ['fail/deep under a string holding closing brackets', `{"s":"]]]]","v":${nested(100)}}`, true],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => assert.equal(exceedsJsonDepth(text), expected));
  }

  test('ok/the count is the nesting JSON.parse sees: object, array, object is three', () => {
    const text = JSON.stringify({ a: [{ b: '{[' }] });
    assert.equal(exceedsJsonDepth(text, 3), false);
    assert.equal(exceedsJsonDepth(text, 2), true);
  });
});
