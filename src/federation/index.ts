export {
  ENDPOINT_PARAMETERS,
  ENTITY_CONFIGURATION_PATH,
  ENTITY_TYPES,
  FEDERATION_SIGNING_ALGORITHMS,
  JWT_TYPES,
  MEDIA_TYPES,
} from './constants.ts';
export {
  type DecodedJwt,
  decodeFederationJwt,
  type EntityStatementClaims,
  STATEMENT_ERROR_CODES,
  StatementError,
  type StatementErrorCode,
  type VerifyOptions,
  validateEntityStatementClaims,
  verifyEntityStatement,
  verifyFederationJwt,
} from './entity-statement.ts';
export {
  FEDERATION_ERROR_CODES,
  FederationError,
  type FederationErrorCode,
  federationErrorBody,
} from './federation-error.ts';
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
export { createFederationSigner, type FederationSigner } from './signer.ts';
export type {
  ChainFinding,
  ResolvedEntity,
  ResolveOptions,
  ResolveResult,
  TrustAnchorConfig,
  TrustChainResolver,
  VerifiedTrustMark,
} from './types.ts';
