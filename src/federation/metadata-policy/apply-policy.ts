import { checkOperatorCombinations } from './check-combinations.ts';
import { metadataError } from './errors.ts';
import { includes, intersection, isSubset, union } from './json-sets.ts';
import { normalizePolicy, OPERATOR_SECTION, type Operator } from './operators.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

type Metadata = Record<string, unknown>;

function applyParameter(parameter: string, p: ParameterPolicy, metadata: Metadata): void {
  const fail = (operator: Operator, reason: string) =>
    metadataError(reason, { parameter, operator, section: OPERATOR_SECTION[operator] });
  const present = () => Object.hasOwn(metadata, parameter);
  const requireArray = (operator: Operator): unknown[] => {
    const current = metadata[parameter];
    if (!Array.isArray(current)) throw fail(operator, 'metadata parameter must be a JSON array');
    return current;
  };

  // Order of application: value, add, default, one_of, subset_of, superset_of, essential (§6.1.3.1).
  if (Object.hasOwn(p, 'value')) {
    if (p['value'] === null) delete metadata[parameter];
    else metadata[parameter] = structuredClone(p['value']);
  }
  if (Object.hasOwn(p, 'add')) {
    const add = p['add'] as unknown[];
    metadata[parameter] = present() ? union(requireArray('add'), add) : structuredClone(add);
  }
  if (Object.hasOwn(p, 'default') && !present()) metadata[parameter] = structuredClone(p['default']);
  if (Object.hasOwn(p, 'one_of') && present()) {
    const current = metadata[parameter];
    if (Array.isArray(current) || !includes(p['one_of'] as unknown[], current)) {
      throw fail('one_of', 'metadata parameter must be one of the one_of values');
    }
  }
  if (Object.hasOwn(p, 'subset_of') && present()) {
    // An empty intersection leaves an empty array rather than removing the parameter.
    metadata[parameter] = intersection(requireArray('subset_of'), p['subset_of'] as unknown[]);
  }
  if (Object.hasOwn(p, 'superset_of') && present()) {
    if (!isSubset(p['superset_of'] as unknown[], requireArray('superset_of'))) {
      throw fail('superset_of', 'metadata parameter must contain every superset_of value');
    }
  }
  if (p['essential'] === true && !present())
    throw fail('essential', 'essential metadata parameter is absent');
}

/**
 * Applies a (combined) metadata policy for one Entity Type to that Entity Type's metadata (§6.1.4.2) and returns
 * the resolved metadata; the input is not modified. A defective policy throws `invalid_policy`; metadata that
 * does not satisfy the policy throws `invalid_metadata`.
 */
export function applyMetadataPolicy(
  policy: MetadataPolicy,
  metadata: Record<string, unknown>,
  options: MetadataPolicyOptions = {},
): Record<string, unknown> {
  const normalized = normalizePolicy(policy, options);
  for (const [parameter, p] of Object.entries(normalized)) checkOperatorCombinations(parameter, p);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw metadataError('metadata must be a JSON object', { section: '6.1.4.2' });
  }
  const resolved = structuredClone(metadata);
  for (const [parameter, p] of Object.entries(normalized)) {
    // A null metadata value would let an entity slip past default and essential.
    if (resolved[parameter] === null) {
      throw metadataError('metadata parameter must not be null', { parameter, section: '6.1.4.2' });
    }
    applyParameter(parameter, p, resolved);
  }
  return resolved;
}
