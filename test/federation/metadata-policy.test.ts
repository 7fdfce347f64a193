import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyMetadataPolicy,
  combineMetadataPolicies,
  type MetadataPolicy,
  MetadataPolicyError,
  type MetadataPolicyOptions,
} from '../../src/federation/index.ts';

type Meta = Record<string, unknown>;
type ApplyCase = { name: string; policy: MetadataPolicy; metadata: Meta; expected: Meta; crit?: string[] };
type ApplyFail = {
  name: string;
  policy: MetadataPolicy;
  metadata: Meta;
  code: 'invalid_metadata' | 'invalid_policy';
  operator?: string;
  crit?: string[];
};
type CombineCase = {
  name: string;
  superior: MetadataPolicy;
  subordinate: MetadataPolicy;
  expected: MetadataPolicy;
  crit?: string[];
};
type CombineFail = {
  name: string;
  superior: MetadataPolicy;
  subordinate: MetadataPolicy;
  operator?: string;
  crit?: string[];
};

const opts = (crit?: string[]): MetadataPolicyOptions => (crit ? { crit } : {});

function expectError(fn: () => unknown, code: string, operator?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MetadataPolicyError, `expected MetadataPolicyError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (operator !== undefined) assert.equal(err.operator, operator);
    assert.match(err.message, /OpenID Federation 1\.0 §(6\.1|3\.1\.1|3\.1\.3|3\.2)/);
    return true;
  });
}

const applyOk: ApplyCase[] = [
  // §6.1.3.1.1 value
  {
    name: 'ok/value sets a scalar',
    policy: { a: { value: 'x' } },
    metadata: { a: 'y' },
    expected: { a: 'x' },
  },
  {
    name: 'ok/value sets an absent parameter',
    policy: { a: { value: 'x' } },
    metadata: {},
    expected: { a: 'x' },
  },
  {
    name: 'ok/value sets an array',
    policy: { a: { value: ['x'] } },
    metadata: { a: ['y'] },
    expected: { a: ['x'] },
  },
  {
    name: 'ok/value sets an object',
    policy: { a: { value: { k: 1 } } },
    metadata: {},
    expected: { a: { k: 1 } },
  },
  {
    name: 'ok/value sets false',
    policy: { a: { value: false } },
    metadata: { a: true },
    expected: { a: false },
  },
  {
    name: 'ok/value null removes',
    policy: { a: { value: null } },
    metadata: { a: 'y', b: 1 },
    expected: { b: 1 },
  },
  { name: 'ok/value null on absent parameter', policy: { a: { value: null } }, metadata: {}, expected: {} },
  // §6.1.3.1.2 add
  {
    name: 'ok/add appends',
    policy: { a: { add: ['b'] } },
    metadata: { a: ['a'] },
    expected: { a: ['a', 'b'] },
  },
  {
    name: 'ok/add skips present',
    policy: { a: { add: ['a', 'b'] } },
    metadata: { a: ['a'] },
    expected: { a: ['a', 'b'] },
  },
  { name: 'ok/add initialises absent', policy: { a: { add: ['b'] } }, metadata: {}, expected: { a: ['b'] } },
  // §6.1.3.1.3 default
  { name: 'ok/default fills absent', policy: { a: { default: 'd' } }, metadata: {}, expected: { a: 'd' } },
  {
    name: 'ok/default leaves present',
    policy: { a: { default: 'd' } },
    metadata: { a: 'x' },
    expected: { a: 'x' },
  },
  // §6.1.3.1.4 one_of
  {
    name: 'ok/one_of accepts member',
    policy: { a: { one_of: ['x', 'y'] } },
    metadata: { a: 'y' },
    expected: { a: 'y' },
  },
  { name: 'ok/one_of ignores absent', policy: { a: { one_of: ['x'] } }, metadata: {}, expected: {} },
  // §6.1.3.1.5 subset_of
  {
    name: 'ok/subset_of intersects in metadata order',
    policy: { a: { subset_of: ['c', 'b', 'a'] } },
    metadata: { a: ['a', 'x', 'c'] },
    expected: { a: ['a', 'c'] },
  },
  {
    name: 'ok/subset_of empty intersection gives []',
    policy: { a: { subset_of: ['x'] } },
    metadata: { a: ['y'] },
    expected: { a: [] },
  },
  { name: 'ok/subset_of ignores absent', policy: { a: { subset_of: ['x'] } }, metadata: {}, expected: {} },
  // §6.1.3.1.6 superset_of
  {
    name: 'ok/superset_of accepts superset',
    policy: { a: { superset_of: ['x'] } },
    metadata: { a: ['y', 'x'] },
    expected: { a: ['y', 'x'] },
  },
  {
    name: 'ok/superset_of ignores absent',
    policy: { a: { superset_of: ['x'] } },
    metadata: {},
    expected: {},
  },
  // §6.1.3.1.7 essential
  {
    name: 'ok/essential true present',
    policy: { a: { essential: true } },
    metadata: { a: 1 },
    expected: { a: 1 },
  },
  { name: 'ok/essential false absent', policy: { a: { essential: false } }, metadata: {}, expected: {} },
  // Order of application (§6.1.3.1)
  {
    name: 'ok/order value then add',
    policy: { a: { value: ['x', 'y'], add: ['y'] } },
    metadata: { a: ['z'] },
    expected: { a: ['x', 'y'] },
  },
  {
    name: 'ok/order add then subset_of',
    policy: { a: { add: ['b'], subset_of: ['a', 'b'] } },
    metadata: { a: ['a', 'z'] },
    expected: { a: ['a', 'b'] },
  },
  {
    name: 'ok/order default then one_of',
    policy: { a: { default: 'x', one_of: ['x', 'y'] } },
    metadata: {},
    expected: { a: 'x' },
  },
  {
    name: 'ok/order default then essential',
    policy: { a: { default: ['x'], essential: true } },
    metadata: {},
    expected: { a: ['x'] },
  },
  {
    name: 'ok/order add then superset_of',
    policy: { a: { add: ['x'], superset_of: ['x'] } },
    metadata: { a: ['y'] },
    expected: { a: ['y', 'x'] },
  },
  {
    name: 'ok/order subset_of then superset_of',
    policy: { a: { subset_of: ['x', 'y'], superset_of: ['x'] } },
    metadata: { a: ['x', 'z'] },
    expected: { a: ['x'] },
  },
  {
    name: 'ok/subset_of empty result still counts as present for essential',
    policy: { a: { subset_of: ['x'], essential: true } },
    metadata: { a: ['y'] },
    expected: { a: [] },
  },
  {
    name: 'ok/value null with essential false',
    policy: { a: { value: null, essential: false } },
    metadata: { a: 'y' },
    expected: {},
  },
  // Parameters without policy and object members are left alone; members compare structurally.
  {
    name: 'ok/unrelated parameters untouched',
    policy: { a: { value: 1 } },
    metadata: { b: [1] },
    expected: { a: 1, b: [1] },
  },
  {
    name: 'ok/add compares objects structurally',
    policy: { a: { add: [{ k: 1, j: 2 }] } },
    metadata: { a: [{ j: 2, k: 1 }] },
    expected: { a: [{ j: 2, k: 1 }] },
  },
  // §6.1.3.2 extension operators
  {
    name: 'ok/unknown operator ignored',
    policy: { a: { lte: 5, value: 1 } },
    metadata: {},
    expected: { a: 1 },
  },
  {
    name: 'ok/parameter with only unknown operators is left alone',
    policy: { a: { lte: 5 } },
    metadata: { a: 9 },
    expected: { a: 9 },
  },
  // §6.1.3.1.2: add initialises an absent parameter, even with no values (Connect2id vector 690).
  { name: 'ok/add empty initialises absent', policy: { a: { add: [] } }, metadata: {}, expected: { a: [] } },
  // §6.1.3.1.3: default may be of another type than the checks expect; it only applies to an absent parameter.
  {
    name: 'ok/default scalar with add never applies',
    policy: { a: { default: 'x', add: ['y'] } },
    metadata: {},
    expected: { a: ['y'] },
  },
  {
    name: 'ok/value null with essential false removes',
    policy: { a: { value: null, essential: false } },
    metadata: {},
    expected: {},
  },
  {
    name: 'ok/one_of accepts number and object members',
    policy: { a: { one_of: [1, { k: 'v' }] }, b: { one_of: [1, { k: 'v' }] } },
    metadata: { a: 1, b: { k: 'v' } },
    expected: { a: 1, b: { k: 'v' } },
  },
  // §6.1.2: a language-tagged parameter name has its own policy.
  {
    name: 'ok/language-tagged parameter is independent',
    policy: { 'client_name#ja-Jpan-JP': { value: 'ja' } },
    metadata: { client_name: 'en' },
    expected: { client_name: 'en', 'client_name#ja-Jpan-JP': 'ja' },
  },
  // §6.1.3.1.8: scope is processed as an array of its space-separated values and written back as a string.
  {
    name: 'ok/scope subset_of and superset_of on the space-separated string',
    policy: { scope: { subset_of: ['openid', 'email'], superset_of: ['openid'] } },
    metadata: { scope: 'openid profile email' },
    expected: { scope: 'openid email' },
  },
  {
    name: 'ok/scope add',
    policy: { scope: { add: ['email'] } },
    metadata: { scope: 'openid' },
    expected: { scope: 'openid email' },
  },
  {
    name: 'ok/scope default array becomes a string',
    policy: { scope: { default: ['openid', 'email'] } },
    metadata: {},
    expected: { scope: 'openid email' },
  },
  {
    name: 'ok/scope value string',
    policy: { scope: { value: 'openid' } },
    metadata: { scope: 'openid profile' },
    expected: { scope: 'openid' },
  },
  {
    name: 'ok/scope essential leaves the string',
    policy: { scope: { essential: true } },
    metadata: { scope: 'openid email' },
    expected: { scope: 'openid email' },
  },
  { name: 'ok/empty policy', policy: {}, metadata: { a: 1 }, expected: { a: 1 } },
];

const applyFail: ApplyFail[] = [
  {
    name: 'fail/one_of non-member',
    policy: { a: { one_of: ['x'] } },
    metadata: { a: 'y' },
    code: 'invalid_metadata',
    operator: 'one_of',
  },
  // §6.1.3: a metadata parameter of a JSON type the operator does not support is a policy error.
  {
    name: 'fail/one_of on an array parameter is a policy error',
    policy: { a: { one_of: ['x'] } },
    metadata: { a: ['x'] },
    code: 'invalid_policy',
    operator: 'one_of',
  },
  {
    name: 'fail/one_of on a boolean parameter is a policy error',
    policy: { a: { one_of: ['x'] } },
    metadata: { a: true },
    code: 'invalid_policy',
    operator: 'one_of',
  },
  {
    name: 'fail/superset_of missing member',
    policy: { a: { superset_of: ['x', 'y'] } },
    metadata: { a: ['x'] },
    code: 'invalid_metadata',
    operator: 'superset_of',
  },
  {
    name: 'fail/superset_of on a scalar parameter is a policy error',
    policy: { a: { superset_of: ['x'] } },
    metadata: { a: 'x' },
    code: 'invalid_policy',
    operator: 'superset_of',
  },
  {
    name: 'fail/subset_of on a scalar parameter is a policy error',
    policy: { a: { subset_of: ['x'] } },
    metadata: { a: 'x' },
    code: 'invalid_policy',
    operator: 'subset_of',
  },
  {
    name: 'fail/add on a scalar parameter is a policy error',
    policy: { a: { add: ['x'] } },
    metadata: { a: 'x' },
    code: 'invalid_policy',
    operator: 'add',
  },
  {
    name: 'fail/subset_of on an array of booleans is a policy error',
    policy: { a: { subset_of: ['x'] } },
    metadata: { a: [true] },
    code: 'invalid_policy',
    operator: 'subset_of',
  },
  {
    name: 'fail/essential absent',
    policy: { a: { essential: true } },
    metadata: {},
    code: 'invalid_metadata',
    operator: 'essential',
  },
  {
    name: 'fail/essential after subset_of on absent',
    policy: { a: { subset_of: ['x'], essential: true } },
    metadata: {},
    code: 'invalid_metadata',
    operator: 'essential',
  },
  {
    name: 'fail/default outside one_of is caught on application',
    policy: { a: { default: 'z', one_of: ['x'] } },
    metadata: {},
    code: 'invalid_metadata',
    operator: 'one_of',
  },
  {
    name: 'fail/scope superset_of on the space-separated string',
    policy: { scope: { superset_of: ['openid'] } },
    metadata: { scope: 'email profile' },
    code: 'invalid_metadata',
    operator: 'superset_of',
  },
  {
    name: 'fail/superset_of after subset_of removed a required member',
    policy: { a: { subset_of: ['x', 'y'], superset_of: ['y'] } },
    metadata: { a: ['x'] },
    code: 'invalid_metadata',
    operator: 'superset_of',
  },
  {
    name: 'fail/null metadata value',
    policy: { a: { default: 'd' } },
    metadata: { a: null },
    code: 'invalid_metadata',
  },
  {
    name: 'fail/null metadata value of a parameter without policy (§3.2)',
    policy: { a: { value: 1 } },
    metadata: { b: null },
    code: 'invalid_metadata',
  },
  { name: 'fail/metadata not an object', policy: {}, metadata: [] as never, code: 'invalid_metadata' },
  {
    name: 'fail/parameter policy without operators (§6.1.2)',
    policy: { a: {} },
    metadata: {},
    code: 'invalid_policy',
  },
  {
    name: 'fail/crit lists an additional operator the policy does not use (§3.1.3)',
    policy: { a: { value: 1 } },
    metadata: {},
    code: 'invalid_policy',
    operator: 'regexp',
    crit: ['regexp'],
  },
  {
    name: 'fail/critical unknown operator',
    policy: { a: { lte: 5 } },
    metadata: { a: 1 },
    code: 'invalid_policy',
    operator: 'lte',
    crit: ['lte'],
  },
  {
    name: 'fail/crit lists a standard operator',
    policy: {},
    metadata: {},
    code: 'invalid_policy',
    operator: 'value',
    crit: ['value'],
  },
  { name: 'fail/crit empty array', policy: {}, metadata: {}, code: 'invalid_policy', crit: [] },
  {
    name: 'fail/policy with bad combination',
    policy: { a: { value: 'z', one_of: ['x'] } },
    metadata: {},
    code: 'invalid_policy',
    operator: 'value',
  },
  {
    name: 'fail/policy entry not an object',
    policy: { a: ['x'] as never },
    metadata: {},
    code: 'invalid_policy',
  },
];

// Operand types (§6.1.3.1.x "Operator value type"); each is rejected by both entry points.
const badOperands: [string, MetadataPolicy, string][] = [
  ['fail/add operand not array', { a: { add: 'x' } }, 'add'],
  ['fail/one_of operand not array', { a: { one_of: 'x' } }, 'one_of'],
  ['fail/subset_of operand not array', { a: { subset_of: 'x' } }, 'subset_of'],
  ['fail/superset_of operand not array', { a: { superset_of: { x: 1 } } }, 'superset_of'],
  ['fail/essential operand not boolean', { a: { essential: 'true' } }, 'essential'],
  ['fail/default operand null', { a: { default: null } }, 'default'],
  ['fail/add operand with a boolean member', { a: { add: ['x', true] } }, 'add'],
  ['fail/one_of operand with a null member', { a: { one_of: [null] } }, 'one_of'],
  ['fail/subset_of operand with a nested array', { a: { subset_of: [['x']] } }, 'subset_of'],
  ['fail/value operand not JSON', { a: { value: () => 1 } }, 'value'],
];

// Combination rules (§6.1.3.1.x "Combination with other operators"); rejected in a single policy.
const badCombinations: [string, MetadataPolicy, string][] = [
  ['fail/value add not subset of value', { a: { value: ['x'], add: ['y'] } }, 'value'],
  ['fail/value scalar with add', { a: { value: 'x', add: ['x'] } }, 'value'],
  ['fail/value null with add', { a: { value: null, add: ['x'] } }, 'value'],
  ['fail/value null with default', { a: { value: null, default: 'x' } }, 'value'],
  ['fail/value not in one_of', { a: { value: 'z', one_of: ['x', 'y'] } }, 'value'],
  ['fail/value not subset of subset_of', { a: { value: ['x', 'z'], subset_of: ['x'] } }, 'value'],
  ['fail/value not superset of superset_of', { a: { value: ['x'], superset_of: ['x', 'y'] } }, 'value'],
  ['fail/value null with essential true', { a: { value: null, essential: true } }, 'value'],
  // null is not among the one_of values, nor a subset or superset of anything (Connect2id vectors 307-309).
  ['fail/value null with one_of', { a: { value: null, one_of: ['x'] } }, 'value'],
  ['fail/value null with subset_of', { a: { value: null, subset_of: ['x'] } }, 'value'],
  ['fail/value null with superset_of', { a: { value: null, superset_of: [] } }, 'value'],
  ['fail/value array with one_of', { a: { value: ['x'], one_of: ['x'] } }, 'value'],
  ['fail/add not subset of subset_of', { a: { add: ['x', 'z'], subset_of: ['x'] } }, 'add'],
  ['fail/add with one_of', { a: { add: ['x'], one_of: ['x'] } }, 'one_of'],
  ['fail/one_of with subset_of', { a: { one_of: ['x'], subset_of: ['x'] } }, 'one_of'],
  ['fail/one_of with superset_of', { a: { one_of: ['x'], superset_of: ['x'] } }, 'one_of'],
  [
    'fail/subset_of not superset of superset_of',
    { a: { subset_of: ['x'], superset_of: ['x', 'y'] } },
    'subset_of',
  ],
];

const goodCombinations: [string, MetadataPolicy][] = [
  ['ok/value with add subset', { a: { value: ['x', 'y'], add: ['x'] } }],
  ['ok/value with default', { a: { value: 'x', default: 'y' } }],
  ['ok/value in one_of', { a: { value: 'x', one_of: ['x', 'y'] } }],
  ['ok/value subset of subset_of', { a: { value: ['x'], subset_of: ['x', 'y'] } }],
  ['ok/value superset of superset_of', { a: { value: ['x', 'y'], superset_of: ['x'] } }],
  ['ok/value with essential true', { a: { value: 'x', essential: true } }],
  ['ok/add with superset_of unconditionally', { a: { add: ['x'], superset_of: ['y'] } }],
  ['ok/add subset of subset_of', { a: { add: ['x'], subset_of: ['x', 'y'] } }],
  ['ok/default outside one_of is not a policy error', { a: { default: 'z', one_of: ['x'] } }],
  ['ok/default outside subset_of is not a policy error', { a: { default: ['z'], subset_of: ['x'] } }],
  ['ok/default with superset_of', { a: { default: ['z'], superset_of: ['x'] } }],
  // §6.1.3.1.3: default MAY be combined with add, one_of, subset_of, superset_of unconditionally.
  ['ok/default scalar with subset_of', { a: { default: 'x', subset_of: ['x'] } }],
  ['ok/default array with one_of', { a: { default: ['x'], one_of: ['x'] } }],
  ['ok/default scalar with add', { a: { default: 'x', add: ['x'] } }],
  ['ok/value null with essential false', { a: { value: null, essential: false } }],
  ['ok/value empty array with subset_of', { a: { value: [], subset_of: ['x'] } }],
  ['ok/value empty array with add empty array', { a: { value: [], add: [] } }],
  ['ok/one_of with default and essential', { a: { one_of: ['x', 'y'], default: 'x', essential: true } }],
  ['ok/value object in one_of', { a: { value: { k: 1 }, one_of: [{ k: 1 }] } }],
  // §6.1.3.1.8: scope's space-separated value is a set of values for the value/subset_of check.
  [
    'ok/scope string value within subset_of',
    { scope: { value: 'openid email', subset_of: ['openid', 'email'] } },
  ],
  ['ok/subset_of superset of superset_of', { a: { subset_of: ['x', 'y'], superset_of: ['x'] } }],
  [
    'ok/all with essential',
    { a: { add: ['x'], default: ['x'], subset_of: ['x'], superset_of: ['x'], essential: true } },
  ],
];

const combineOk: CombineCase[] = [
  {
    name: 'ok/merge disjoint parameters',
    superior: { a: { value: 1 } },
    subordinate: { b: { essential: true } },
    expected: { a: { value: 1 }, b: { essential: true } },
  },
  {
    name: 'ok/merge disjoint operators',
    superior: { a: { default: 'x' } },
    subordinate: { a: { essential: true } },
    expected: { a: { default: 'x', essential: true } },
  },
  {
    name: 'ok/merge value equal',
    superior: { a: { value: 'x' } },
    subordinate: { a: { value: 'x' } },
    expected: { a: { value: 'x' } },
  },
  {
    name: 'ok/merge value null equal',
    superior: { a: { value: null } },
    subordinate: { a: { value: null } },
    expected: { a: { value: null } },
  },
  {
    name: 'ok/merge value arrays as sets',
    superior: { a: { value: ['x', 'y'] } },
    subordinate: { a: { value: ['y', 'x'] } },
    expected: { a: { value: ['x', 'y'] } },
  },
  {
    name: 'ok/merge value objects structurally',
    superior: { a: { value: { k: 1, j: 2 } } },
    subordinate: { a: { value: { j: 2, k: 1 } } },
    expected: { a: { value: { k: 1, j: 2 } } },
  },
  {
    name: 'ok/merge add union',
    superior: { a: { add: ['x', 'y'] } },
    subordinate: { a: { add: ['y', 'z'] } },
    expected: { a: { add: ['x', 'y', 'z'] } },
  },
  {
    name: 'ok/merge default equal',
    superior: { a: { default: ['x'] } },
    subordinate: { a: { default: ['x'] } },
    expected: { a: { default: ['x'] } },
  },
  {
    name: 'ok/merge one_of intersection',
    superior: { a: { one_of: ['x', 'y', 'z'] } },
    subordinate: { a: { one_of: ['z', 'y', 'w'] } },
    expected: { a: { one_of: ['y', 'z'] } },
  },
  {
    name: 'ok/merge subset_of intersection',
    superior: { a: { subset_of: ['x', 'y'] } },
    subordinate: { a: { subset_of: ['y', 'z'] } },
    expected: { a: { subset_of: ['y'] } },
  },
  {
    name: 'ok/merge subset_of empty intersection allowed',
    superior: { a: { subset_of: ['x'] } },
    subordinate: { a: { subset_of: ['y'] } },
    expected: { a: { subset_of: [] } },
  },
  {
    name: 'ok/merge superset_of union',
    superior: { a: { superset_of: ['x'] } },
    subordinate: { a: { superset_of: ['y'] } },
    expected: { a: { superset_of: ['x', 'y'] } },
  },
  {
    name: 'ok/merge essential true or false',
    superior: { a: { essential: true } },
    subordinate: { a: { essential: false } },
    expected: { a: { essential: true } },
  },
  {
    name: 'ok/merge essential false or true',
    superior: { a: { essential: false } },
    subordinate: { a: { essential: true } },
    expected: { a: { essential: true } },
  },
  {
    name: 'ok/merge essential false or false',
    superior: { a: { essential: false } },
    subordinate: { a: { essential: false } },
    expected: { a: { essential: false } },
  },
  {
    name: 'ok/merge subordinate value within superior one_of',
    superior: { a: { one_of: ['x', 'y'] } },
    subordinate: { a: { value: 'x' } },
    expected: { a: { value: 'x', one_of: ['x', 'y'] } },
  },
  {
    name: 'ok/merge superior value with subordinate add subset',
    superior: { a: { value: ['x', 'y'] } },
    subordinate: { a: { add: ['y'] } },
    expected: { a: { value: ['x', 'y'], add: ['y'] } },
  },
  {
    name: 'ok/merge drops unknown non-critical operators',
    superior: { a: { lte: 1, essential: true } },
    subordinate: { a: { gte: 0 } },
    expected: { a: { essential: true } },
  },
  { name: 'ok/merge empty policies', superior: {}, subordinate: {}, expected: {} },
  {
    name: 'ok/merge drops parameters left with only unknown operators',
    superior: { a: { lte: 1 } },
    subordinate: { b: { essential: false } },
    expected: { b: { essential: false } },
  },
  {
    name: 'ok/merge scope value strings as sets (§6.1.3.1.8)',
    superior: { scope: { value: 'openid email' } },
    subordinate: { scope: { value: 'email openid' } },
    expected: { scope: { value: 'openid email' } },
  },
  {
    name: 'ok/merge default with one_of and essential (Connect2id vector 1278)',
    superior: { alg: { one_of: ['RS256', 'ES256'], essential: true } },
    subordinate: { alg: { default: 'RS256', essential: true } },
    expected: { alg: { default: 'RS256', one_of: ['RS256', 'ES256'], essential: true } },
  },
];

const combineFail: CombineFail[] = [
  {
    name: 'fail/merge value not equal',
    superior: { a: { value: 'x' } },
    subordinate: { a: { value: 'y' } },
    operator: 'value',
  },
  {
    name: 'fail/merge value null vs non-null',
    superior: { a: { value: null } },
    subordinate: { a: { value: 'x' } },
    operator: 'value',
  },
  {
    name: 'fail/merge value arrays differ',
    superior: { a: { value: ['x'] } },
    subordinate: { a: { value: ['x', 'y'] } },
    operator: 'value',
  },
  {
    name: 'fail/merge default not equal',
    superior: { a: { default: 'x' } },
    subordinate: { a: { default: 'y' } },
    operator: 'default',
  },
  {
    name: 'fail/merge one_of empty intersection',
    superior: { a: { one_of: ['x'] } },
    subordinate: { a: { one_of: ['y'] } },
    operator: 'one_of',
  },
  {
    name: 'fail/merge subordinate value outside superior one_of',
    superior: { a: { one_of: ['x'] } },
    subordinate: { a: { value: 'y' } },
    operator: 'value',
  },
  {
    name: 'fail/merge subordinate value outside superior subset_of',
    superior: { a: { subset_of: ['x'] } },
    subordinate: { a: { value: ['y'] } },
    operator: 'value',
  },
  {
    name: 'fail/merge subordinate value misses superior superset_of',
    superior: { a: { superset_of: ['x'] } },
    subordinate: { a: { value: ['y'] } },
    operator: 'value',
  },
  {
    name: 'fail/merge subordinate removes essential parameter',
    superior: { a: { essential: true } },
    subordinate: { a: { value: null } },
    operator: 'value',
  },
  {
    name: 'fail/merge add union escapes subset_of',
    superior: { a: { add: ['x'], subset_of: ['x', 'y'] } },
    subordinate: { a: { add: ['z'] } },
    operator: 'add',
  },
  {
    name: 'fail/merge subset_of narrowed below superset_of',
    superior: { a: { superset_of: ['x'] } },
    subordinate: { a: { subset_of: ['y'] } },
    operator: 'subset_of',
  },
  {
    name: 'fail/merge one_of with subordinate subset_of',
    superior: { a: { one_of: ['x'] } },
    subordinate: { a: { subset_of: ['x'] } },
    operator: 'one_of',
  },
  {
    name: 'fail/merge value with add not subset',
    superior: { a: { value: ['x'] } },
    subordinate: { a: { add: ['y'] } },
    operator: 'value',
  },
  {
    name: 'fail/merge value null with default',
    superior: { a: { default: 'x' } },
    subordinate: { a: { value: null } },
    operator: 'value',
  },
  {
    name: 'fail/merge critical unknown operator in superior',
    superior: { a: { lte: 1 } },
    subordinate: {},
    operator: 'lte',
    crit: ['lte'],
  },
  {
    name: 'fail/merge critical unknown operator in subordinate',
    superior: {},
    subordinate: { a: { lte: 1 } },
    operator: 'lte',
    crit: ['lte'],
  },
  {
    name: 'fail/merge crit lists an additional operator neither policy uses (§3.1.3)',
    superior: { a: { value: 1 } },
    subordinate: { a: { value: 1 } },
    operator: 'regexp',
    crit: ['regexp'],
  },
  {
    name: 'fail/merge value null with subordinate one_of (Connect2id vector 307)',
    superior: { logo_uri: { value: null } },
    subordinate: { logo_uri: { one_of: ['https://example.com/logo.png'] } },
    operator: 'value',
  },
  {
    name: 'fail/merge subordinate parameter policy without operators',
    superior: { a: { value: 1 } },
    subordinate: { a: {} },
  },
  {
    name: 'fail/merge crit lists standard operator',
    superior: {},
    subordinate: {},
    operator: 'essential',
    crit: ['essential'],
  },
  { name: 'fail/merge policy not an object', superior: [] as never, subordinate: {} },
];

describe('metadata policy: apply (§6.1.3.1, §6.1.4.2)', () => {
  for (const c of applyOk) {
    it(c.name, () => assert.deepEqual(applyMetadataPolicy(c.policy, c.metadata, opts(c.crit)), c.expected));
  }
  for (const c of applyFail) {
    it(c.name, () =>
      expectError(() => applyMetadataPolicy(c.policy, c.metadata, opts(c.crit)), c.code, c.operator),
    );
  }
  for (const [name, policy, operator] of badOperands) {
    it(name, () => expectError(() => applyMetadataPolicy(policy, {}), 'invalid_policy', operator));
  }
});

describe('metadata policy: operator combinations (§6.1.3.1)', () => {
  for (const [name, policy, operator] of [...badOperands, ...badCombinations]) {
    it(`${name} (own policy)`, () =>
      expectError(() => combineMetadataPolicies(policy, {}), 'invalid_policy', operator));
    it(`${name} (split across superior and subordinate)`, () => {
      const [parameter, entry] = Object.entries(policy)[0]!;
      const [first, ...rest] = Object.entries(entry);
      const superior = { [parameter]: Object.fromEntries([first!]) };
      const subordinate = rest.length > 0 ? { [parameter]: Object.fromEntries(rest) } : {};
      expectError(() => combineMetadataPolicies(superior, subordinate), 'invalid_policy');
    });
  }
  for (const [name, policy] of goodCombinations) {
    it(name, () => {
      assert.deepEqual(combineMetadataPolicies(policy, {}), policy);
      assert.deepEqual(combineMetadataPolicies({}, policy), policy);
    });
  }
});

describe('metadata policy: combine (§6.1.4.1)', () => {
  for (const c of combineOk) {
    it(c.name, () =>
      assert.deepEqual(combineMetadataPolicies(c.superior, c.subordinate, opts(c.crit)), c.expected),
    );
  }
  for (const c of combineFail) {
    it(c.name, () =>
      expectError(
        () => combineMetadataPolicies(c.superior, c.subordinate, opts(c.crit)),
        'invalid_policy',
        c.operator,
      ),
    );
  }
});

// §6.1.5 Metadata Policy Example: Trust Anchor and Intermediate policies for openid_relying_party, their merge,
// and the RP's resolved metadata.
describe('metadata policy: §6.1.5 example', () => {
  const trustAnchor: MetadataPolicy = {
    grant_types: {
      default: ['authorization_code'],
      subset_of: ['authorization_code', 'refresh_token'],
      superset_of: ['authorization_code'],
    },
    token_endpoint_auth_method: {
      one_of: ['private_key_jwt', 'self_signed_tls_client_auth'],
      essential: true,
    },
    token_endpoint_auth_signing_alg: { one_of: ['PS256', 'ES256'] },
    subject_type: { value: 'pairwise' },
    contacts: { add: ['helpdesk@federation.example.org'] },
  };
  const intermediate: MetadataPolicy = {
    grant_types: { subset_of: ['authorization_code'] },
    token_endpoint_auth_method: { one_of: ['self_signed_tls_client_auth'] },
    contacts: { add: ['helpdesk@org.example.org'] },
  };
  const merged: MetadataPolicy = {
    grant_types: {
      default: ['authorization_code'],
      subset_of: ['authorization_code'],
      superset_of: ['authorization_code'],
    },
    token_endpoint_auth_method: { one_of: ['self_signed_tls_client_auth'], essential: true },
    token_endpoint_auth_signing_alg: { one_of: ['PS256', 'ES256'] },
    subject_type: { value: 'pairwise' },
    contacts: { add: ['helpdesk@federation.example.org', 'helpdesk@org.example.org'] },
  };
  // The Intermediate's `metadata` for its Immediate Subordinates, applied to the RP's before the policy (§6.1.4.2).
  const intermediateMetadata: Meta = {
    sector_identifier_uri: 'https://org.example.org/sector-ids.json',
    policy_uri: 'https://org.example.org/policy.html',
  };
  const rp: Meta = {
    redirect_uris: ['https://rp.example.org/callback'],
    response_types: ['code'],
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    contacts: ['rp_admins@rp.example.org'],
  };
  const resolved: Meta = {
    redirect_uris: ['https://rp.example.org/callback'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    subject_type: 'pairwise',
    sector_identifier_uri: 'https://org.example.org/sector-ids.json',
    policy_uri: 'https://org.example.org/policy.html',
    contacts: ['rp_admins@rp.example.org', 'helpdesk@federation.example.org', 'helpdesk@org.example.org'],
  };

  it('ok/§6.1.5 merged policy', () =>
    assert.deepEqual(combineMetadataPolicies(trustAnchor, intermediate), merged));
  it('ok/§6.1.5 resolved metadata', () =>
    assert.deepEqual(applyMetadataPolicy(merged, { ...rp, ...intermediateMetadata }), resolved));
  it('fail/§6.1.5 RP with private_key_jwt rejected by merged one_of', () =>
    expectError(
      () => applyMetadataPolicy(merged, { ...rp, token_endpoint_auth_method: 'private_key_jwt' }),
      'invalid_metadata',
      'one_of',
    ));
  it('fail/§6.1.5 RP without token_endpoint_auth_method rejected by essential', () => {
    const { token_endpoint_auth_method: _omit, ...withoutMethod } = rp;
    expectError(() => applyMetadataPolicy(merged, withoutMethod), 'invalid_metadata', 'essential');
  });
  it('ok/§6.1.5 RP asking for refresh_token is narrowed to authorization_code', () =>
    assert.deepEqual(
      applyMetadataPolicy(merged, { ...rp, grant_types: ['refresh_token', 'authorization_code'] })
        .grant_types,
      ['authorization_code'],
    ));
  it('fail/§6.1.5 RP with only refresh_token fails superset_of after subset_of', () =>
    expectError(
      () => applyMetadataPolicy(merged, { ...rp, grant_types: ['refresh_token'] }),
      'invalid_metadata',
      'superset_of',
    ));
  it('ok/§6.1.4.1 three-level chain merges top-down', () => {
    const leafSuperior: MetadataPolicy = { contacts: { add: ['ops@ia2.example.org'] } };
    const chain = combineMetadataPolicies(combineMetadataPolicies(trustAnchor, intermediate), leafSuperior);
    assert.deepEqual(chain['contacts'], {
      add: ['helpdesk@federation.example.org', 'helpdesk@org.example.org', 'ops@ia2.example.org'],
    });
  });
});

// §6.1.3.1.8 table "Examples of Outputs with Combinations of essential and subset_of for Different Inputs".
describe('metadata policy: §6.1.3.1.8 essential × subset_of table', () => {
  const rows: [boolean, string[] | undefined, string[] | 'error' | undefined][] = [
    [true, ['a', 'e'], ['a']],
    [false, ['a', 'e'], ['a']],
    [true, ['d', 'e'], []],
    [false, ['d', 'e'], []],
    [true, undefined, 'error'],
    [false, undefined, undefined],
  ];
  for (const [essential, input, output] of rows) {
    const policy: MetadataPolicy = { p: { essential, subset_of: ['a', 'b', 'c'] } };
    const metadata: Meta = input === undefined ? {} : { p: input };
    const name = `essential ${essential}, input ${input ? `[${input}]` : 'absent'} → ${
      Array.isArray(output) ? `[${output}]` : (output ?? 'absent')
    }`;
    if (output === 'error') {
      it(`fail/${name}`, () =>
        expectError(() => applyMetadataPolicy(policy, metadata), 'invalid_metadata', 'essential'));
    } else {
      it(`ok/${name}`, () =>
        assert.deepEqual(applyMetadataPolicy(policy, metadata), output === undefined ? {} : { p: output }));
    }
  }
});

// Property-style: for many generated policies and metadata, neither entry point mutates its inputs (whether it
// returns or throws) and results share no references with the inputs.
describe('metadata policy: inputs are never mutated', () => {
  let seed = 0x2f6b1d;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const atoms = ['x', 'y', 'z'] as const;
  const list = () => atoms.filter(() => rand(2) === 0);
  const operand = (op: string): unknown => {
    switch (op) {
      case 'value':
        return pick([null, 'x', list(), { k: list() }]);
      case 'default':
        return pick(['x', list()]);
      case 'essential':
        return rand(2) === 0;
      case 'lte':
        return 1;
      default:
        return list();
    }
  };
  const ops = ['value', 'add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential', 'lte'];
  const policy = (): MetadataPolicy => {
    const out: MetadataPolicy = {};
    for (const p of ['a', 'b']) {
      if (rand(3) === 0) continue;
      const entry: Record<string, unknown> = {};
      for (const op of ops) if (rand(3) === 0) entry[op] = operand(op);
      out[p] = entry;
    }
    return out;
  };
  const metadata = (): Meta => {
    const out: Meta = {};
    for (const p of ['a', 'b', 'c']) if (rand(2) === 0) out[p] = pick(['x', list(), { k: list() }]);
    return out;
  };
  const objectsIn = (v: unknown, into = new Set<object>()): Set<object> => {
    if (typeof v === 'object' && v !== null) {
      into.add(v);
      for (const x of Object.values(v)) objectsIn(x, into);
    }
    return into;
  };
  const shares = (result: unknown, input: unknown): boolean => {
    const inputs = objectsIn(input);
    return [...objectsIn(result)].some((o) => inputs.has(o));
  };

  it('ok/combineMetadataPolicies leaves superior and subordinate untouched (500 cases)', () => {
    for (let i = 0; i < 500; i++) {
      const sup = policy();
      const sub = policy();
      const before = structuredClone([sup, sub]);
      let result: MetadataPolicy | undefined;
      try {
        result = combineMetadataPolicies(sup, sub);
      } catch (err) {
        assert.ok(err instanceof MetadataPolicyError);
        assert.equal(err.code, 'invalid_policy');
      }
      assert.deepEqual([sup, sub], before);
      if (result) assert.ok(!shares(result, sup) && !shares(result, sub));
    }
  });

  it('ok/applyMetadataPolicy leaves policy and metadata untouched (500 cases)', () => {
    for (let i = 0; i < 500; i++) {
      const pol = policy();
      const meta = metadata();
      const before = structuredClone([pol, meta]);
      let result: Meta | undefined;
      try {
        result = applyMetadataPolicy(pol, meta, { crit: pick([undefined, ['lte']]) });
      } catch (err) {
        assert.ok(err instanceof MetadataPolicyError);
      }
      assert.deepEqual([pol, meta], before);
      if (result) assert.ok(!shares(result, meta) && !shares(result, pol));
    }
  });

  it('ok/frozen inputs are accepted', () => {
    const deepFreeze = <T>(v: T): T => {
      if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) deepFreeze(x);
      return Object.freeze(v);
    };
    const sup = deepFreeze({ a: { add: ['x'], subset_of: ['x', 'y'] } });
    const sub = deepFreeze({ a: { add: ['y'], essential: true } });
    const merged = combineMetadataPolicies(sup, sub);
    assert.deepEqual(merged, { a: { add: ['x', 'y'], subset_of: ['x', 'y'], essential: true } });
    assert.deepEqual(applyMetadataPolicy(merged, deepFreeze({ a: ['z'] })), { a: ['x', 'y'] });
  });
});

describe('metadata policy: errors', () => {
  it('ok/MetadataPolicyError names parameter, operator and section without values', () => {
    try {
      combineMetadataPolicies(
        { grant_types: { value: ['secret-ish'] } },
        { grant_types: { value: ['other'] } },
      );
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof MetadataPolicyError);
      assert.equal(err.code, 'invalid_policy');
      assert.equal(err.parameter, 'grant_types');
      assert.equal(err.operator, 'value');
      assert.equal(err.status, 400);
      assert.match(err.message, /"grant_types".*"value".*§6\.1\.3\.1\.1, §6\.1\.4\.1/);
      assert.doesNotMatch(err.message, /secret-ish|other/);
    }
  });
});
