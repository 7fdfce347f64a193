export {
  applyMetadataPolicy,
  combineMetadataPolicies,
  METADATA_POLICY_ERROR_CODES,
  type MetadataPolicy,
  MetadataPolicyError,
  type MetadataPolicyErrorCode,
  type MetadataPolicyOptions,
  OPERATORS,
  type Operator,
  type ParameterPolicy,
} from './metadata-policy/index.ts';
