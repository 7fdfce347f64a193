import { checkOperatorCombinations } from './check-combinations.ts';
import { policyError } from './errors.ts';
import { asPolicyValue, intersection, operandEqual, union } from './json-sets.ts';
import { normalizePolicy, OPERATOR_SECTION, OPERATORS, type Operator } from './operators.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

const SECTION = '6.1.4.1';

/** Operator value merge (§6.1.3.1.x "Operator value merge"); the order of a merged array is not defined (§6.1.3). */
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
      // §6.1.3.1.1, §6.1.3.1.3: allowed only when the operator values are equal (arrays compare as sets).
      if (!operandEqual(asPolicyValue(parameter, superior), asPolicyValue(parameter, subordinate))) {
        throw fail('superior and subordinate operands are not equal');
      }
      return structuredClone(superior);
    case 'add':
    case 'superset_of':
      // §6.1.3.1.2, §6.1.3.1.6: the union of the operator values.
      return union(superior as unknown[], subordinate as unknown[]);
    case 'one_of': {
      // §6.1.3.1.4: the intersection of the operator values; an empty intersection is a policy error.
      const merged = intersection(superior as unknown[], subordinate as unknown[]);
      if (merged.length === 0) throw fail('superior and subordinate operands have no value in common');
      return merged;
    }
    case 'subset_of':
      // §6.1.3.1.5: the intersection of the operator values, which may be the empty array.
      return intersection(superior as unknown[], subordinate as unknown[]);
    case 'essential':
      // §6.1.3.1.7: the logical disjunction (OR) of the operator values.
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
    // §6.1.4.1: an operator present in both is merged; a subordinate operator not yet present is copied.
    if (inSuperior && inSubordinate) {
      merged[operator] = mergeOperator(parameter, operator, superior[operator], subordinate[operator]);
    } else if (inSuperior || inSubordinate) {
      merged[operator] = structuredClone(inSuperior ? superior[operator] : subordinate[operator]);
    }
  }
  return merged;
}

/**
 * Merges a superior's metadata policy for one Entity Type with its subordinate's (§6.1.4.1). Call it from the
 * Trust Anchor's Subordinate Statement down to the one by the subject's Immediate Superior, with the
 * `metadata_policy_crit` values collected from every Subordinate Statement of the chain. Both inputs and the
 * result must satisfy the operator combination rules of §6.1.3.1; any failure throws `invalid_policy`.
 */
export function combineMetadataPolicies(
  superior: MetadataPolicy,
  subordinate: MetadataPolicy,
  options: MetadataPolicyOptions = {},
): MetadataPolicy {
  const sup = normalizePolicy(superior, options);
  const sub = normalizePolicy(subordinate, options);
  // §6.1.4.1: each metadata_policy is validated (allowed operator combinations) before it is merged.
  for (const policy of [sup, sub]) {
    for (const [parameter, p] of Object.entries(policy)) checkOperatorCombinations(parameter, p);
  }
  const combined: MetadataPolicy = {};
  for (const parameter of new Set([...Object.keys(sup), ...Object.keys(sub)])) {
    // §6.1.4.1: parameter policies are merged by name, ones present on one side only are copied.
    const merged = mergeParameter(parameter, sup[parameter] ?? {}, sub[parameter] ?? {});
    // §6.1.4.1: a merged parameter policy with a combination that is not allowed is a policy error.
    checkOperatorCombinations(parameter, merged);
    combined[parameter] = merged;
  }
  return combined;
}
