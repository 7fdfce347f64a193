import { policyError } from './errors.ts';
import type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';

/** The standard operators in their order of application (§6.1.3.1). */
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

function checkCrit(crit: readonly string[] | undefined): void {
  if (crit === undefined) return;
  // §6.1.3.2: producers MUST NOT list standard operators or use the empty array.
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string')) {
    throw policyError('metadata_policy_crit must be a non-empty array of operator names', {
      section: '6.1.3.2',
    });
  }
  const standard = crit.find((c) => isOperator(c));
  if (standard !== undefined) {
    throw policyError('metadata_policy_crit must not list a standard operator', {
      operator: standard,
      section: '6.1.3.2',
    });
  }
}

function checkOperand(parameter: string, operator: Operator, operand: unknown): void {
  const section = OPERATOR_SECTION[operator];
  const fail = (reason: string) => policyError(reason, { parameter, operator, section });
  switch (operator) {
    case 'value':
      if (operand === undefined) throw fail('operand must be a JSON value');
      return;
    case 'default':
      if (operand === null || operand === undefined)
        throw fail('operand must be a JSON value other than null');
      return;
    case 'add':
    case 'one_of':
    case 'subset_of':
    case 'superset_of':
      if (!Array.isArray(operand)) throw fail('operand must be a JSON array');
      return;
    case 'essential':
      if (typeof operand !== 'boolean') throw fail('operand must be a boolean');
      return;
  }
}

/**
 * Validates the shape and operand types of a policy and returns a copy holding only the standard operators.
 * An operator that is not understood is an error when listed in `crit`, else ignored (§6.1.3.2).
 */
export function normalizePolicy(policy: MetadataPolicy, options: MetadataPolicyOptions = {}): MetadataPolicy {
  checkCrit(options.crit);
  if (!isPlainObject(policy))
    throw policyError('metadata policy must be a JSON object', { section: '6.1.2' });
  const out: MetadataPolicy = {};
  for (const [parameter, entry] of Object.entries(policy)) {
    if (!isPlainObject(entry)) {
      throw policyError('parameter policy must be a JSON object', { parameter, section: '6.1.2' });
    }
    const normalized: ParameterPolicy = {};
    for (const [operator, operand] of Object.entries(entry)) {
      if (!isOperator(operator)) {
        if (options.crit?.includes(operator)) {
          throw policyError('critical operator is not understood', {
            parameter,
            operator,
            section: '6.1.3.2',
          });
        }
        continue;
      }
      checkOperand(parameter, operator, operand);
      normalized[operator] = structuredClone(operand);
    }
    out[parameter] = normalized;
  }
  return out;
}
