import { checkOperatorCombinations } from './check-combinations.ts';
import { policyError } from './errors.ts';
import { intersection, operandEqual, union } from './json-sets.ts';
import { normalizePolicy, OPERATOR_SECTION, OPERATORS, type Operator } from './operators.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

const SECTION = '6.1.4.1';

function mergeOperator(
  parameter: string,
  operator: Operator,
  superior: unknown,
  subordinate: unknown,
): unknown {
  const fail = (reason: string) =>
    policyError(reason, { parameter, operator, section: `${OPERATOR_SECTION[operator]}, §${SECTION}` });
  switch (operator) {
    case 'value':
    case 'default':
      if (!operandEqual(superior, subordinate)) throw fail('superior and subordinate operands are not equal');
      return structuredClone(superior);
    case 'add':
    case 'superset_of':
      return union(superior as unknown[], subordinate as unknown[]);
    case 'one_of': {
      const merged = intersection(superior as unknown[], subordinate as unknown[]);
      if (merged.length === 0) throw fail('superior and subordinate operands have no value in common');
      return merged;
    }
    case 'subset_of':
      // An empty intersection is allowed: it makes the parameter an empty array when applied.
      return intersection(superior as unknown[], subordinate as unknown[]);
    case 'essential':
      // A superior's essential=true cannot be turned off by a subordinate: logical OR.
      return superior === true || subordinate === true;
  }
}

function mergeParameter(
  parameter: string,
  superior: ParameterPolicy,
  subordinate: ParameterPolicy,
): ParameterPolicy {
  const merged: ParameterPolicy = {};
  for (const operator of OPERATORS) {
    const inSuperior = Object.hasOwn(superior, operator);
    const inSubordinate = Object.hasOwn(subordinate, operator);
    if (inSuperior && inSubordinate) {
      merged[operator] = mergeOperator(parameter, operator, superior[operator], subordinate[operator]);
    } else if (inSuperior || inSubordinate) {
      merged[operator] = structuredClone(inSuperior ? superior[operator] : subordinate[operator]);
    }
  }
  return merged;
}

/**
 * Merges a superior's metadata policy for one Entity Type with its subordinate's (§6.1.4.1). Both inputs and the
 * result must satisfy the operator combination rules of §6.1.3.1; any failure throws `invalid_policy`.
 */
export function combineMetadataPolicies(
  superior: MetadataPolicy,
  subordinate: MetadataPolicy,
  options: MetadataPolicyOptions = {},
): MetadataPolicy {
  const sup = normalizePolicy(superior, options);
  const sub = normalizePolicy(subordinate, options);
  for (const policy of [sup, sub]) {
    for (const [parameter, p] of Object.entries(policy)) checkOperatorCombinations(parameter, p);
  }
  const combined: MetadataPolicy = {};
  for (const parameter of new Set([...Object.keys(sup), ...Object.keys(sub)])) {
    const merged = mergeParameter(parameter, sup[parameter] ?? {}, sub[parameter] ?? {});
    checkOperatorCombinations(parameter, merged);
    combined[parameter] = merged;
  }
  return combined;
}
