import { policyError } from './errors.ts';
import { includes, isSubset } from './json-sets.ts';
import { OPERATOR_SECTION, type Operator } from './operators.ts';
import type { ParameterPolicy } from './types.ts';

const has = (p: ParameterPolicy, op: Operator) => Object.hasOwn(p, op);

/**
 * The "Combination with other operators" rules of §6.1.3.1.1–§6.1.3.1.7, applied to one parameter's policy
 * (each statement's own policy and the merged result alike). Operands are already type-checked.
 */
export function checkOperatorCombinations(parameter: string, p: ParameterPolicy): void {
  const fail = (operator: Operator, other: Operator, reason: string) =>
    policyError(`cannot be combined with "${other}": ${reason}`, {
      parameter,
      operator,
      section: OPERATOR_SECTION[operator],
    });
  const arr = (op: Operator) => p[op] as unknown[];

  // one_of constrains a single-valued parameter; add, subset_of and superset_of constrain an array (§6.1.3.1.4).
  for (const op of ['add', 'subset_of', 'superset_of'] as const) {
    if (has(p, 'one_of') && has(p, op))
      throw fail('one_of', op, 'one_of applies to single-valued parameters');
  }

  if (has(p, 'value')) {
    const value = p['value'];
    if (has(p, 'add') && !(Array.isArray(value) && isSubset(arr('add'), value))) {
      throw fail('value', 'add', 'the add values must be a subset of the value');
    }
    if (has(p, 'default') && value === null) throw fail('value', 'default', 'value must not be null');
    if (value !== null) {
      if (has(p, 'one_of') && (Array.isArray(value) || !includes(arr('one_of'), value))) {
        throw fail('value', 'one_of', 'the value must be one of the one_of values');
      }
      if (has(p, 'subset_of') && !(Array.isArray(value) && isSubset(value, arr('subset_of')))) {
        throw fail('value', 'subset_of', 'the value must be a subset of the subset_of values');
      }
      if (has(p, 'superset_of') && !(Array.isArray(value) && isSubset(arr('superset_of'), value))) {
        throw fail('value', 'superset_of', 'the value must be a superset of the superset_of values');
      }
    }
    if (value === null && p['essential'] === true) {
      throw fail('value', 'essential', 'a null value (removal) cannot be combined with essential true');
    }
  }

  if (has(p, 'add') && has(p, 'subset_of') && !isSubset(arr('add'), arr('subset_of'))) {
    throw fail('add', 'subset_of', 'the add values must be a subset of the subset_of values');
  }

  if (has(p, 'subset_of') && has(p, 'superset_of') && !isSubset(arr('superset_of'), arr('subset_of'))) {
    throw fail(
      'subset_of',
      'superset_of',
      'the subset_of values must be a superset of the superset_of values',
    );
  }

  // default may be combined with the value checks unconditionally (§6.1.3.1.3), but its type must fit them.
  if (has(p, 'default')) {
    const isArray = Array.isArray(p['default']);
    for (const op of ['add', 'subset_of', 'superset_of'] as const) {
      if (has(p, op) && !isArray)
        throw fail('default', op, 'default must be an array for an array parameter');
    }
    if (has(p, 'one_of') && isArray) throw fail('default', 'one_of', 'default must be a single value');
  }
}
