export { applyMetadataPolicy } from './apply-policy.ts';
export { combineMetadataPolicies } from './combine-policies.ts';
export {
  METADATA_POLICY_ERROR_CODES,
  MetadataPolicyError,
  type MetadataPolicyErrorCode,
} from './errors.ts';
export { OPERATORS, type Operator } from './operators.ts';
export type { MetadataPolicy, MetadataPolicyOptions, ParameterPolicy } from './types.ts';
