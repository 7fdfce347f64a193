import { policyError } from './errors.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

/** The standard operators in their order of application (§6.1.3.1.1–§6.1.3.1.7, "Order of application"). */
export const OPERATORS = [
  'value',
  'add',
  'default',
  'one_of',
  'subset_of',
  'superset_of',
  'essential',
] as const;

export type Operator = (typeof OPERATORS)[number];

export const OPERATOR_SECTION: Record<Operator, string> = {
  value: '6.1.3.1.1',
  add: '6.1.3.1.2',
  default: '6.1.3.1.3',
  one_of: '6.1.3.1.4',
  subset_of: '6.1.3.1.5',
  superset_of: '6.1.3.1.6',
  essential: '6.1.3.1.7',
};

const isOperator = (name: string): name is Operator => (OPERATORS as readonly string[]).includes(name);

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A member of an array operand or of an array metadata parameter: strings are mandatory to support, numbers and
 * objects optional (§6.1.3.1.2, §6.1.3.1.4–§6.1.3.1.6); this implementation supports all three.
 */
export const isSupportedMember = (v: unknown): boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || isPlainObject(v);

/** A JSON value: what a `value` operand may be (§6.1.3.1.1; objects are optional to support, §6.1.3.1.8). */
function isJsonValue(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJsonValue);
  if (isPlainObject(v)) return Object.values(v).every(isJsonValue);
  return false;
}

/**
 * `metadata_policy_crit` (§3.1.3): a non-empty array naming additional (non-standard) operators that MUST be
 * understood. This implementation understands no additional operators, so any listed one invalidates the
 * statement, whether or not the policy uses it.
 */
function checkCrit(crit: readonly string[] | undefined): void {
  if (crit === undefined) return;
  // §3.1.3: an array of strings that MUST NOT be the empty array.
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string')) {
    throw policyError('metadata_policy_crit must be a non-empty array of operator names', {
      section: '3.1.3',
    });
  }
  // §3.1.3, §3.2: only operators other than the standard ones of §6.1.3.1 may be listed.
  const standard = crit.find((c) => isOperator(c));
  if (standard !== undefined) {
    throw policyError('metadata_policy_crit must not list a standard operator', {
      operator: standard,
      section: '3.1.3',
    });
  }
  // §3.1.3, §6.1.3.2: a listed operator that is not understood invalidates the statement and the Trust Chain.
  throw policyError('critical operator is not understood', { operator: crit[0], section: '6.1.3.2' });
}

/** Operator value types (§6.1.3.1.x "Operator JSON values"); an unsupported type is a policy error (§6.1.3). */
function checkOperand(parameter: string, operator: Operator, operand: unknown): void {
  const fail = (reason: string) =>
    policyError(reason, { parameter, operator, section: OPERATOR_SECTION[operator] });
  switch (operator) {
    case 'value':
      // §6.1.3.1.1: string, number, boolean, array, null (objects optional, §6.1.3.1.8).
      if (!isJsonValue(operand)) throw fail('operand must be a JSON value');
      return;
    case 'default':
      // §6.1.3.1.3: string, number, boolean, array (objects optional, §6.1.3.1.8); null is not a default.
      if (operand === null || !isJsonValue(operand))
        throw fail('operand must be a JSON value other than null');
      return;
    case 'add':
    case 'one_of':
    case 'subset_of':
    case 'superset_of':
      // §6.1.3.1.2, §6.1.3.1.4–§6.1.3.1.6: an array of strings (of numbers or objects optionally).
      if (!Array.isArray(operand) || !operand.every(isSupportedMember)) {
        throw fail('operand must be a JSON array of strings, numbers or objects');
      }
      return;
    case 'essential':
      // §6.1.3.1.7: boolean.
      if (typeof operand !== 'boolean') throw fail('operand must be a boolean');
      return;
  }
}

/**
 * Validates the structure and operand types of one Entity Type's metadata policy and returns a copy holding only
 * the standard operators; a parameter left with no standard operator is dropped. An operator that is not
 * understood is ignored unless it is critical (§6.1.3.2).
 */
export function normalizePolicy(policy: MetadataPolicy, options: MetadataPolicyOptions = {}): MetadataPolicy {
  checkCrit(options.crit);
  // §6.1.2: the Entity Type's policy is a JSON object of metadata parameter policies.
  if (!isPlainObject(policy))
    throw policyError('metadata policy must be a JSON object', { section: '6.1.2' });
  const out: MetadataPolicy = {};
  for (const [parameter, entry] of Object.entries(policy)) {
    // §6.1.2: a metadata parameter policy is a JSON object with one or more operators.
    if (!isPlainObject(entry) || Object.keys(entry).length === 0) {
      throw policyError('parameter policy must be a JSON object with one or more operators', {
        parameter,
        section: '6.1.2',
      });
    }
    const normalized: ParameterPolicy = {};
    for (const [operator, operand] of Object.entries(entry)) {
      // §6.1.3.2: additional operators that are not understood are ignored (critical ones were rejected above).
      if (!isOperator(operator)) continue;
      checkOperand(parameter, operator, operand);
      normalized[operator] = structuredClone(operand);
    }
    if (Object.keys(normalized).length > 0) out[parameter] = normalized;
  }
  return out;
}
