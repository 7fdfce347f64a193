import { checkOperatorCombinations } from './check-combinations.ts';
import { metadataError, policyError } from './errors.ts';
import { asPolicyValue, includes, intersection, isSubset, union } from './json-sets.ts';
import {
  isPlainObject,
  isSupportedMember,
  normalizePolicy,
  OPERATOR_SECTION,
  type Operator,
} from './operators.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

type Metadata = Record<string, unknown>;

function applyParameter(parameter: string, p: ParameterPolicy, metadata: Metadata): void {
  const fail = (operator: Operator, reason: string) =>
    metadataError(reason, { parameter, operator, section: OPERATOR_SECTION[operator] });
  // §6.1.3: a metadata parameter of a JSON type the operator does not support is a policy error.
  const unsupported = (operator: Operator, expected: string) =>
    policyError(`metadata parameter must be ${expected}`, {
      parameter,
      operator,
      section: `6.1.3, §${OPERATOR_SECTION[operator]}`,
    });
  const present = () => Object.hasOwn(metadata, parameter);
  const requireArray = (operator: Operator): unknown[] => {
    const current = metadata[parameter];
    if (!Array.isArray(current) || !current.every(isSupportedMember)) {
      throw unsupported(operator, 'a JSON array of strings, numbers or objects');
    }
    return current;
  };

  // §6.1.3.1.8: scope is processed as an array of its space-separated values.
  if (present()) metadata[parameter] = asPolicyValue(parameter, metadata[parameter]);

  // Order of application: value, add, default, one_of, subset_of, superset_of, essential (§6.1.3.1.1–§6.1.3.1.7).
  if (Object.hasOwn(p, 'value')) {
    // §6.1.3.1.1: assign the operand; null removes the parameter.
    if (p['value'] === null) delete metadata[parameter];
    else metadata[parameter] = structuredClone(asPolicyValue(parameter, p['value']));
  }
  if (Object.hasOwn(p, 'add')) {
    // §6.1.3.1.2: add the values not yet present; an absent parameter is initialised with the operand.
    const add = p['add'] as unknown[];
    metadata[parameter] = present() ? union(requireArray('add'), add) : structuredClone(add);
  }
  // §6.1.3.1.3: an absent parameter is set to the operand; a present one is left alone.
  if (Object.hasOwn(p, 'default') && !present()) {
    metadata[parameter] = structuredClone(asPolicyValue(parameter, p['default']));
  }
  if (Object.hasOwn(p, 'one_of') && present()) {
    const current = metadata[parameter];
    // §6.1.3.1.4: the parameter is a string (a number or an object optionally), not an array.
    if (Array.isArray(current) || !isSupportedMember(current)) {
      throw unsupported('one_of', 'a single string, number or object');
    }
    // §6.1.3.1.4: a present parameter MUST be one of the operand values.
    if (!includes(p['one_of'] as unknown[], current)) {
      throw fail('one_of', 'metadata parameter must be one of the one_of values');
    }
  }
  if (Object.hasOwn(p, 'subset_of') && present()) {
    // §6.1.3.1.5: a present parameter becomes its intersection with the operand, possibly the empty array.
    metadata[parameter] = intersection(requireArray('subset_of'), p['subset_of'] as unknown[]);
  }
  if (Object.hasOwn(p, 'superset_of') && present()) {
    // §6.1.3.1.6: a present parameter MUST contain every operand value.
    if (!isSubset(p['superset_of'] as unknown[], requireArray('superset_of'))) {
      throw fail('superset_of', 'metadata parameter must contain every superset_of value');
    }
  }
  // §6.1.3.1.7: essential true requires the parameter to be present; omitted essential means false.
  if (p['essential'] === true && !present())
    throw fail('essential', 'essential metadata parameter is absent');

  // §6.1.3.1.8: the resulting scope is the space-separated string of the values.
  const result = metadata[parameter];
  if (parameter === 'scope' && Array.isArray(result) && result.every((s) => typeof s === 'string')) {
    metadata[parameter] = result.join(' ');
  }
}

/**
 * Applies a resolved metadata policy for one Entity Type to that Entity Type's metadata (§6.1.4.2) and returns
 * the Resolved Metadata; the input is not modified. A Subordinate Statement's own `metadata` must have been
 * applied to the input first. A defective policy, or a metadata parameter of a JSON type an operator does not
 * support (§6.1.3), throws `invalid_policy`; metadata that does not satisfy the policy throws `invalid_metadata`.
 */
export function applyMetadataPolicy(
  policy: MetadataPolicy,
  metadata: Record<string, unknown>,
  options: MetadataPolicyOptions = {},
): Record<string, unknown> {
  const normalized = normalizePolicy(policy, options);
  // §6.1.4.1: the policy holds only allowed operator combinations.
  for (const [parameter, p] of Object.entries(normalized)) checkOperatorCombinations(parameter, p);
  // §3.1.1: the metadata of an Entity Type is a JSON object.
  if (!isPlainObject(metadata)) throw metadataError('metadata must be a JSON object', { section: '3.1.1' });
  for (const [parameter, value] of Object.entries(metadata)) {
    // §3.2: metadata MUST NOT use null as a metadata value (it would also slip past default and essential).
    if (value === null)
      throw metadataError('metadata parameter must not be null', { parameter, section: '3.2' });
  }
  const resolved = structuredClone(metadata);
  // §6.1.4.2: the operators of every parameter policy are applied in their order of application.
  for (const [parameter, p] of Object.entries(normalized)) applyParameter(parameter, p, resolved);
  return resolved;
}
