import { policyError } from './errors.ts';
import { asPolicyValue, includes, isSubset } from './json-sets.ts';
import { OPERATOR_SECTION, type Operator } from './operators.ts';
import type { ParameterPolicy } from './types.ts';

const has = (p: ParameterPolicy, op: Operator) => Object.hasOwn(p, op);

/**
 * The "Combination with other operators" rules of §6.1.3.1.1–§6.1.3.1.7, applied to one parameter's policy: to
 * each statement's own policy and to the merged result alike (§6.1.3, §6.1.4.1). Operands are already
 * type-checked. Pairs not listed here are allowed unconditionally.
 */
export function checkOperatorCombinations(parameter: string, p: ParameterPolicy): void {
  const fail = (operator: Operator, other: Operator, reason: string) =>
    policyError(`cannot be combined with "${other}": ${reason}`, {
      parameter,
      operator,
      section: OPERATOR_SECTION[operator],
    });
  const arr = (op: Operator) => p[op] as unknown[];

  // §6.1.3.1.4: one_of may be combined only with value, default and essential.
  for (const op of ['add', 'subset_of', 'superset_of'] as const) {
    if (has(p, 'one_of') && has(p, op))
      throw fail('one_of', op, 'one_of allows only value, default, essential');
  }

  if (has(p, 'value')) {
    const value = asPolicyValue(parameter, p['value']);
    // §6.1.3.1.1, §6.1.3.1.2: the values of add MUST be a subset of the values of value.
    if (has(p, 'add') && !(Array.isArray(value) && isSubset(arr('add'), value))) {
      throw fail('value', 'add', 'the add values must be a subset of the value');
    }
    // §6.1.3.1.1, §6.1.3.1.3: value and default only if value is not null.
    if (has(p, 'default') && value === null) throw fail('value', 'default', 'value must not be null');
    // §6.1.3.1.1, §6.1.3.1.4: the value MUST be among the one_of values (null is not among them).
    if (has(p, 'one_of') && (value === null || Array.isArray(value) || !includes(arr('one_of'), value))) {
      throw fail('value', 'one_of', 'the value must be one of the one_of values');
    }
    // §6.1.3.1.1, §6.1.3.1.5: the values of value MUST be a subset of the subset_of values.
    if (has(p, 'subset_of') && !(Array.isArray(value) && isSubset(value, arr('subset_of')))) {
      throw fail('value', 'subset_of', 'the value must be a subset of the subset_of values');
    }
    // §6.1.3.1.1, §6.1.3.1.6: the values of value MUST be a superset of the superset_of values.
    if (has(p, 'superset_of') && !(Array.isArray(value) && isSubset(arr('superset_of'), value))) {
      throw fail('value', 'superset_of', 'the value must be a superset of the superset_of values');
    }
    // §6.1.3.1.1, §6.1.3.1.7: not when value is null and essential is true.
    if (value === null && p['essential'] === true) {
      throw fail('value', 'essential', 'a null value (removal) cannot be combined with essential true');
    }
  }

  // §6.1.3.1.2, §6.1.3.1.5: the values of add MUST be a subset of the values of subset_of.
  if (has(p, 'add') && has(p, 'subset_of') && !isSubset(arr('add'), arr('subset_of'))) {
    throw fail('add', 'subset_of', 'the add values must be a subset of the subset_of values');
  }

  // §6.1.3.1.5, §6.1.3.1.6: the values of subset_of MUST be a superset of the values of superset_of.
  if (has(p, 'subset_of') && has(p, 'superset_of') && !isSubset(arr('superset_of'), arr('subset_of'))) {
    throw fail(
      'subset_of',
      'superset_of',
      'the subset_of values must be a superset of the superset_of values',
    );
  }
}
